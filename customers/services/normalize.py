"""Pure normalization of identifiers and profile values. No I/O: the set-based bulk loader
mirrors these rules in SQL (customers.services.bulk), and tests check both agree.

Normalizers return "" for what they cannot read, which must never reach a profile as if it were
a value: that would silently blank what was there. Each one that can fail has a ``*_error``
twin saying why a non-empty input is unreadable (None when it is fine); manual edits and
imports refuse such values with that message (``customers.services.profile``,
``customers.services.validation``)."""

from __future__ import annotations

import datetime
import re

from django.utils.dateparse import parse_date

from customers.documents import document_check

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: What a written phone number may contain: digits and the usual separators, one leading "+".
PHONE_RE = re.compile(r"^\+?[0-9 ().\-/]+$")
#: Digits of a phone number (without a "00" international prefix): E.164 allows at most 15, and
#: no number we know of has fewer than 6.
PHONE_DIGITS = (6, 15)
PHONE_MESSAGE = "Enter a phone number (digits, spaces and + ( ) - . / only; 6 to 15 digits)."
GENDER_MESSAGE = "Choose female, male or other (or leave it empty)."
BIRTH_DATE_MESSAGE = "Use an ISO 8601 date (YYYY-MM-DD)."
BIRTH_DATE_RANGE_MESSAGE = "Out of range."
COUNTRY_MESSAGE = "Use an ISO 3166 country code such as AR, BR or MX."
NON_DIGITS = re.compile(r"\D+")

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


def document_number_normalize(value, document_type: str = "", country: str = "") -> str:
    """The compact form a valid document is matched by (``"123.456.789-09"`` → ``"12345678909"``,
    ``"12.345.678-k"`` → ``"12345678K"``); "" when it is not valid (``document_number_error``
    says why). Types without checks keep digits only (passports keep letters, uppercased)."""
    return document_check(document_type, value, country)[0]


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


def phone_error(value) -> str | None:
    """Why ``value`` is not a phone number, or None (also for an empty value)."""
    raw = text_clean(value)
    if not raw:
        return None
    if not PHONE_RE.match(raw):
        return PHONE_MESSAGE
    digits = NON_DIGITS.sub("", raw)
    if raw.startswith("00"):
        digits = digits[2:]
    return None if PHONE_DIGITS[0] <= len(digits) <= PHONE_DIGITS[1] else PHONE_MESSAGE


def gender_error(value) -> str | None:
    return GENDER_MESSAGE if text_clean(value) and not gender_normalize(value) else None


def document_number_error(value, document_type: str = "", country: str = "") -> str | None:
    """Why ``value`` is not a document of ``document_type`` (its check digits, length or format;
    customers.documents), or None (also for an empty value)."""
    return document_check(document_type, text_clean(value), country)[1]


def birth_date_parse(value, *, today: datetime.date) -> tuple[datetime.date | None, str | None]:
    """``(date, None)``, ``(None, None)`` for an empty value, or ``(None, message)``: an ISO
    date (a date-time's date part is taken) from 1900-01-01 to ``today``."""
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        day = value
    else:
        text = text_clean(value)
        if not text:
            return None, None
        try:
            day = parse_date(text[:10])
        except ValueError:
            day = None
        if day is None:
            return None, BIRTH_DATE_MESSAGE
    if not datetime.date(1900, 1, 1) <= day <= today:
        return None, BIRTH_DATE_RANGE_MESSAGE
    return day, None
