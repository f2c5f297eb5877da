"""Encryption at rest for secrets every app stores (Fernet: AES-128-CBC + HMAC-SHA256): integration
credentials and webhook secrets (integrations), AI provider keys (ai, in the public schema).

It lives in ``cdp`` because apps of both schemas need it and the public-schema apps may not import
``integrations`` (house-style's arrows). ``integrations.crypto`` builds on it with its own codes.

Keys: the setting ``CDP_CREDENTIALS_KEYS`` (from the environment variable of that name, through the
settings module) is a comma-separated list of Fernet keys, newest first. The first encrypts; all
decrypt, so a key can be rotated in without downtime: prepend a new key, run
``manage.py rotate_credentials`` (re-encrypts every row with the newest key), then drop the old key.
Without the variable (development), one key is generated under ``$CDP_DATA_DIR/secrets/``.
"""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from cdp.conf import AppSettings
from cdp.codes import ErrorCode
from cdp.exceptions import ApplicationError
from cdp.secrets import local_secret

ENV = "CDP_CREDENTIALS_KEYS"
conf = AppSettings({
    # Fernet keys, comma-separated, newest first (the first encrypts, all decrypt). Empty: a key
    # generated under $CDP_DATA_DIR/secrets/ (development only).
    ENV: "",
})


class CredentialsUnreadable(ApplicationError):
    code = ErrorCode.CREDENTIALS_UNREADABLE
    http_status = 409


def credential_keys(env_value: str) -> list[bytes]:
    """The Fernet keys a ``CDP_CREDENTIALS_KEYS`` value names, newest first (a backup carries them)."""
    return [key.strip().encode() for key in env_value.split(",") if key.strip()]


def keys_in_use(env_value: str | None = None) -> list[bytes]:
    """The keys this process encrypts and decrypts with, newest first: those of
    ``CDP_CREDENTIALS_KEYS`` (``env_value``, by default the setting), else the machine-local one."""
    env_value = (conf.get(ENV) or "") if env_value is None else env_value
    if env_value.strip():
        return credential_keys(env_value)
    # A machine-local secret turned into a valid Fernet key (32 url-safe base64 bytes).
    seed = local_secret("credentials-key")
    return [base64.urlsafe_b64encode(hashlib.sha256(seed.encode()).digest())]


@functools.lru_cache(maxsize=8)
def _multifernet(env_value: str) -> MultiFernet:
    keys = keys_in_use(env_value)
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ApplicationError(f"{ENV} holds a key that is not a Fernet key.", code=ErrorCode.CREDENTIALS_KEY_INVALID) from exc


def fernet() -> MultiFernet:
    return _multifernet(conf.get(ENV) or "")


def encrypt_text(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def decrypt_text(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise CredentialsUnreadable(f"A stored secret cannot be decrypted with the configured keys ({ENV}).") from exc


def rotate(token: str) -> str:
    """Re-encrypt ``token`` with the newest key (MultiFernet.rotate)."""
    if not token:
        return token
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise CredentialsUnreadable(f"A stored secret cannot be decrypted with the configured keys ({ENV}).") from exc


def mask(text: str, secrets) -> str:
    """``text`` with every secret value (4+ characters) replaced by ``***``: for logs and errors."""
    for secret in sorted({str(s) for s in secrets if s and len(str(s)) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
