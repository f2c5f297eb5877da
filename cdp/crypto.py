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
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

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


#: Keys added for a while after this cluster's own (``keys_added``), e.g. an imported tenant's.
_added_keys: ContextVar[str] = ContextVar("cdp_credentials_added_keys", default="")


def _env_value() -> str:
    added = _added_keys.get()
    if not added:
        return conf.get(ENV) or ""
    ours = b",".join(keys_in_use(conf.get(ENV) or "")).decode()
    return f"{ours},{added}"


@contextmanager
def keys_added(env_value: str) -> Iterator[None]:
    """Within the block, values encrypted with these keys (a ``CDP_CREDENTIALS_KEYS`` value, e.g.
    the keys a tenant export carries) decrypt too, and lookups try their hashes; this cluster's
    newest key still encrypts and hashes: rotating re-encrypts them to ours."""
    token = _added_keys.set(env_value.strip())
    try:
        yield
    finally:
        _added_keys.reset(token)


def fernet() -> MultiFernet:
    return _multifernet(_env_value())


@functools.lru_cache(maxsize=8)
def _hash_keys(env_value: str, purpose: str) -> tuple[bytes, ...]:
    # One HMAC key per credentials key and purpose, derived (never the Fernet key itself), newest first.
    return tuple(hmac.new(key, b"cdp keyed hash: " + purpose.encode(), hashlib.sha256).digest()
                 for key in keys_in_use(env_value))


def keyed_hashes(value: str, *, purpose: str) -> list[str]:
    """HMAC-SHA256 of ``value`` (hex) under each credentials key, newest first: a lookup matches a
    row hashed before the newest key was put in (until ``rotate_credentials`` re-hashes it)."""
    return [hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
            for key in _hash_keys(_env_value(), purpose)]


def keyed_hash(value: str, *, purpose: str) -> str:
    """HMAC-SHA256 of ``value`` (hex, 64 characters) under the newest credentials key: a value that
    can be matched and kept unique without being readable. ``purpose`` separates the uses."""
    return keyed_hashes(value, purpose=purpose)[0]


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
