"""Encryption at rest for credentials and webhook secrets (Fernet, AES-128-CBC + HMAC-SHA256; the
keys and the cipher are ``cdp.crypto``'s, shared with the public-schema apps).

Keys: the setting ``CDP_CREDENTIALS_KEYS`` (from the environment variable of that name, through the
settings module: ``integrations.conf``) is a comma-separated list of Fernet keys, newest first. The first
encrypts; all decrypt, so a key can be rotated in without downtime: prepend a new key, run
``manage.py rotate_credentials`` (re-encrypts every row with the newest key), then drop the old
key. Without the variable (development), one key is generated under ``$CDP_DATA_DIR/secrets/``.
Generate a key with ``python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"``.
"""

from __future__ import annotations

import json

from cryptography.fernet import InvalidToken

from cdp.crypto import ENV, CredentialsUnreadable, decrypt_text, encrypt_text, fernet, mask, rotate

__all__ = ["ENV", "CredentialsUnreadable", "decrypt_json", "decrypt_text", "encrypt_json", "encrypt_text", "fernet",
           "mask", "rotate", "secret_values"]


def encrypt_json(value: dict) -> str:
    return fernet().encrypt(json.dumps(value, sort_keys=True).encode()).decode()


def decrypt_json(token: str) -> dict:
    if not token:
        return {}
    try:
        return json.loads(fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise CredentialsUnreadable("Stored credentials cannot be decrypted with the configured keys "
                                    f"({ENV}); re-enter them or restore the old key.") from exc


def secret_values(credentials: dict) -> list[str]:
    """Every string inside a credentials dict (all of it is treated as secret)."""
    values = []
    for value in credentials.values():
        if isinstance(value, dict):
            values.extend(secret_values(value))
        elif isinstance(value, str):
            values.append(value)
    return values
