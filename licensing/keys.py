"""License keys: 130 random bits in Crockford base32 plus a 20-bit checksum.

``CDPL-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX``: six groups of five; the last four characters are
the checksum of the first 26. A mistyped key fails the checksum (all but one in a million) and is
answered NOT_FOUND without touching the database. Only the SHA-256 of the normalized key is
stored: 130 bits of entropy make a slow hash pointless, and validation must stay fast.
"""

from __future__ import annotations

import hashlib
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {char: char for char in ALPHABET} | {"O": "0", "I": "1", "L": "1"}
PREFIX = "CDPL"
BODY_LENGTH = 26
CHECK_LENGTH = 4
GROUP = 5
VISIBLE_PREFIX_LENGTH = len(PREFIX) + 1 + GROUP  # "CDPL-ABCDE": 25 bits, no help to a guesser


def _checksum(body: str) -> str:
    digest = int.from_bytes(hashlib.sha256(f"{PREFIX}:{body}".encode()).digest()[:4], "big")
    return "".join(ALPHABET[(digest >> (5 * i)) & 31] for i in range(CHECK_LENGTH))


def _format(chars: str) -> str:
    return "-".join([PREFIX] + [chars[i:i + GROUP] for i in range(0, len(chars), GROUP)])


def generate() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return _format(body + _checksum(body))


def normalize(key: str) -> str | None:
    """The canonical form of ``key`` when its shape and checksum are right, else None.

    Case, spaces, missing dashes and the look-alikes O/I/L are forgiven."""
    if not isinstance(key, str) or len(key) > 80:
        return None
    compact = "".join(key.split()).replace("-", "").upper()
    if not compact.startswith(PREFIX):
        return None
    chars = []
    for char in compact[len(PREFIX):]:
        mapped = _DECODE.get(char)
        if mapped is None:
            return None
        chars.append(mapped)
    if len(chars) != BODY_LENGTH + CHECK_LENGTH:
        return None
    body, check = "".join(chars[:BODY_LENGTH]), "".join(chars[BODY_LENGTH:])
    if not secrets.compare_digest(check, _checksum(body)):
        return None
    return _format(body + check)


def key_hash(normalized_key: str) -> str:
    return hashlib.sha256(normalized_key.encode()).hexdigest()


def visible_prefix(normalized_key: str) -> str:
    return normalized_key[:VISIBLE_PREFIX_LENGTH]
