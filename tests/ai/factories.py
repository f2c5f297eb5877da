from __future__ import annotations

from cdp.context import Actor

ACTOR = Actor.system("tests")


def prompt(feature="segment-description", template="Describe the segment {{ name }}: {{ rules }}",
           variables=("name", "rules"), **fields):
    from ai.services import prompt_save

    return prompt_save(actor=ACTOR, feature=feature, template=template, variables=list(variables), **fields)
