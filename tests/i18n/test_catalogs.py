"""The catalogs are complete, and no portal template shows text that bypasses them."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.template.base import Lexer, TokenType

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ["es", "pt_BR"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def catalog(language: str):
    with (ROOT / "locale" / language / "LC_MESSAGES" / "django.po").open("rb") as po_file:
        return read_po(po_file, locale=language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(language):
    # given every msgid extracted from the templates and the code (make messages-extract)
    missing, fuzzy, placeholders = [], [], []
    for message in catalog(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, (list, tuple)) else [message.id]
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        # then each has a translation, confirmed, with the same placeholders
        if not all(strings) or not strings:
            missing.append(ids[0])
        elif message.fuzzy:
            fuzzy.append(ids[0])
        elif any(set(PLACEHOLDER.findall(s)) - set(PLACEHOLDER.findall(ids[-1])) for s in strings):
            placeholders.append(ids[0])
    assert not missing, f"{language}: untranslated: {missing}"
    assert not fuzzy, f"{language}: fuzzy (shown in English): {fuzzy}"
    assert not placeholders, f"{language}: placeholders that the English does not have: {placeholders}"


# Text in templates that is not language: punctuation, symbols, acronyms and product names.
NOT_WORDS = re.compile(r"^(?:[\W\d_]|CDP|PDF|SHA-256|RFM|CLV|CAC|ROAS|AUC|BG/NBD|Gamma-Gamma|[a-z]=|[rRFMpqvsb]|α|M|ms|s|tok_\w+)*$")


class _TextCollector(HTMLParser):
    """Visible text and the attributes people read (title, aria-label, placeholder, alt)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in {"script", "style", "code", "pre"}:
            self._skip += 1
        for name, value in attrs:
            if name in {"title", "aria-label", "placeholder", "alt"} and value:
                self.found.append(value)

    def handle_endtag(self, tag):
        if tag in {"script", "style", "code", "pre"} and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.found.append(data)


def portal_templates() -> list[Path]:
    """Every template a portal page, e-mail or error page renders (admin templates are Django's)."""
    found = []
    for path in sorted((ROOT / "templates").rglob("*")):
        if path.suffix not in {".html", ".txt"}:
            continue
        source = path.read_text()
        if 'extends "admin/' in source or "/admin/" in str(path.relative_to(ROOT / "templates")):
            continue
        found.append(path)
    return found


def untranslated_text(source: str) -> list[str]:
    """Text outside {% translate %}/{% blocktranslate %} that contains a word."""
    text, depth = [], 0
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0] if token.contents else ""
            if name in {"blocktranslate", "blocktrans"}:
                depth += 1
            elif name in {"endblocktranslate", "endblocktrans"}:
                depth -= 1
            elif name == "plural":
                pass
            text.append(" ")
        elif token.token_type == TokenType.TEXT and not depth:
            text.append(token.contents)
        elif token.token_type == TokenType.VAR:
            text.append(" ")
    collector = _TextCollector()
    collector.feed("".join(text))
    problems = []
    for chunk in collector.found:
        for piece in chunk.split():
            if re.search(r"[A-Za-zÀ-ÿ]{2,}", piece) and not NOT_WORDS.match(piece.strip(".,;:()·…→←")):
                problems.append(chunk.strip())
                break
    return problems


@pytest.mark.parametrize("path", portal_templates(), ids=lambda p: str(p.relative_to(ROOT / "templates")))
def test_template_text_goes_through_the_catalog(path):
    assert untranslated_text(path.read_text()) == []


def test_the_template_check_finds_unwrapped_text():
    # the check above is not vacuous
    assert untranslated_text("<p>Customers</p>") == ["Customers"]
    assert untranslated_text('<input placeholder="Search">') == ["Search"]
    assert untranslated_text('{% load i18n %}<p>{% translate "Customers" %} · 3</p>') == []
    assert untranslated_text("{% blocktranslate %}Hello {{ x }}{% endblocktranslate %}") == []
