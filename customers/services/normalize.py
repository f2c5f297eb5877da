"""Pure normalization of identifiers and profile values. No I/O: the set-based bulk loader
mirrors these rules in SQL (customers.services.bulk), and tests check both agree."""

from __future__ import annotations

import re

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
NON_DIGITS = re.compile(r"\D+")
NON_ALNUM = re.compile(r"[^0-9A-Za-z]+")

#: Calling codes of the countries we sell in most; a national number from these becomes E.164.
CALLING_CODES = {
    "AR": "54", "BO": "591", "BR": "55", "CL": "56", "CO": "57", "CR": "506", "EC": "593", "ES": "34",
    "GT": "502", "MX": "52", "PA": "507", "PE": "51", "PY": "595", "US": "1", "UY": "598", "VE": "58",
}
ALPHA3 = {
    "ARG": "AR", "BOL": "BO", "BRA": "BR", "CHL": "CL", "COL": "CO", "CRI": "CR", "ECU": "EC", "ESP": "ES",
    "GTM": "GT", "MEX": "MX", "PAN": "PA", "PER": "PE", "PRY": "PY", "USA": "US", "URY": "UY", "VEN": "VE",
}
COUNTRY_NAMES = {
    "argentina": "AR", "bolivia": "BO", "brasil": "BR", "brazil": "BR", "chile": "CL", "colombia": "CO",
    "costa rica": "CR", "ecuador": "EC", "espana": "ES", "españa": "ES", "spain": "ES", "guatemala": "GT",
    "mexico": "MX", "méxico": "MX", "panama": "PA", "panamá": "PA", "peru": "PE", "perú": "PE",
    "paraguay": "PY", "united states": "US", "uruguay": "UY", "venezuela": "VE",
}
GENDERS = {
    "f": "female", "female": "female", "femenino": "female", "feminino": "female", "mujer": "female",
    "m": "male", "male": "male", "masculino": "male", "hombre": "male",
    "o": "other", "other": "other", "otro": "other", "x": "other",
}
#: Documents that may hold letters keep them (uppercased); all others keep digits only.
ALPHANUMERIC_DOCUMENTS = frozenset({"passport", "pasaporte"})


def text_clean(value) -> str:
    """Trimmed text with inner runs of whitespace collapsed; None becomes ""."""
    if value is None:
        return ""
    return " ".join(str(value).split())


def email_normalize(value) -> str:
    """Lowercased and trimmed (inner spaces removed: ``" Ana @Mail.com "`` → ``ana@mail.com``)."""
    return "".join(str(value or "").split()).lower()


def email_is_valid(email: str) -> bool:
    return bool(EMAIL_RE.match(email)) and len(email) <= 254


def document_type_normalize(value) -> str:
    return text_clean(value).lower()


def document_number_normalize(value, document_type: str = "") -> str:
    """Digits only (``"20.123.456-7"`` → ``"201234567"``); passports keep letters, uppercased."""
    if document_type in ALPHANUMERIC_DOCUMENTS:
        return NON_ALNUM.sub("", str(value or "")).upper()
    return NON_DIGITS.sub("", str(value or ""))


def country_normalize(value) -> str | None:
    """ISO 3166-1 alpha-2, from alpha-2, the alpha-3 codes or names we know; None if unknown."""
    raw = text_clean(value)
    if not raw:
        return ""
    upper = raw.upper()
    if len(upper) == 2 and upper.isalpha():
        return upper
    if upper in ALPHA3:
        return ALPHA3[upper]
    return COUNTRY_NAMES.get(raw.lower())


def phone_normalize(value, country: str = "") -> str:
    """E.164 where possible: ``+`` or ``00`` prefixed numbers keep their country code; national
    numbers take the country's calling code (trunk ``0`` dropped). Otherwise the bare digits."""
    raw = str(value or "").strip()
    digits = NON_DIGITS.sub("", raw)
    if not digits:
        return ""
    if raw.startswith("+"):
        candidate = digits
    elif raw.startswith("00"):
        candidate = digits[2:]
    elif country in CALLING_CODES:
        national = digits.lstrip("0")
        code = CALLING_CODES[country]
        candidate = national if national.startswith(code) and len(national) >= 11 else code + national
    else:
        return digits[:20]
    if 8 <= len(candidate) <= 15:
        return "+" + candidate
    return digits[:20]


def gender_normalize(value) -> str:
    return GENDERS.get(text_clean(value).lower(), "")
