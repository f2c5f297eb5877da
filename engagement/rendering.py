"""Template text with ``{{ variable }}`` placeholders, filled from a fixed list of variables.

Not Django's template language: a tenant's staff write these texts, and a template engine would
give them attribute access to whatever the context holds. Here a placeholder is a name from
``VARIABLES`` and nothing else; an unknown name is refused when the template is saved."""

from __future__ import annotations

import re

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")

#: What a template may say, and where each value comes from.
VARIABLES = {
    "first_name": "The person's first name.",
    "last_name": "The person's last name.",
    "name": "First and last name.",
    "points": "Loyalty points (from the trigger).",
    "tier": "Loyalty tier (from the trigger).",
    "voucher_code": "A voucher's code (from the trigger).",
    "expiry": "An expiry date (from the trigger).",
    "partner": "A partner business (from the trigger).",
    "tenant_name": "The brand's name.",
    "unsubscribe_url": "The one-click unsubscribe link (e-mail adds it to the headers too).",
    "confirm_url": "Double opt-in: the confirmation link (the opt-in confirmation e-mail only).",
}


def placeholders(text: str) -> list[str]:
    """The variable names ``text`` uses, in order of first appearance."""
    seen: list[str] = []
    for name in PLACEHOLDER.findall(text or ""):
        if name not in seen:
            seen.append(name)
    return seen


def unknown_placeholders(text: str) -> list[str]:
    return [name for name in placeholders(text) if name not in VARIABLES]


def render(text: str, context: dict) -> str:
    """``text`` with each placeholder replaced by ``context``'s value (empty when missing)."""
    return PLACEHOLDER.sub(lambda match: str(context.get(match.group(1), "") or ""), text or "")
