"""The Ed25519 key that signs validation answers and offline license files.

``CDP_LICENSE_SIGNING_KEY`` (PEM, or base64 of the raw 32-byte private key) wins; otherwise a key
is generated once and kept at ``$CDP_DATA_DIR/secrets/license-signing-key.pem`` (mode 0600), so
a development machine keeps one identity across restarts. The private key is never displayed.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cdp.embedded import data_dir
from licensing import conf

KEY_FILE_NAME = "license-signing-key.pem"


class SigningKeyError(ValueError):
    pass


def _from_setting(value: str) -> Ed25519PrivateKey:
    value = value.strip()
    try:
        if "BEGIN" in value:
            key = serialization.load_pem_private_key(value.replace("\\n", "\n").encode(), password=None)
        else:
            key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(value, validate=True))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise SigningKeyError("CDP_LICENSE_SIGNING_KEY is neither an Ed25519 PEM nor base64 of 32 bytes.") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError("CDP_LICENSE_SIGNING_KEY must be an Ed25519 key.")
    return key


def _from_local_file() -> Ed25519PrivateKey:
    folder = data_dir() / "secrets"
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / KEY_FILE_NAME
    if not path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process won the race; use its key
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


@functools.lru_cache(maxsize=1)
def private_key() -> Ed25519PrivateKey:
    configured = conf.get("CDP_LICENSE_SIGNING_KEY")
    return _from_setting(configured) if configured else _from_local_file()


def public_key() -> Ed25519PublicKey:
    return private_key().public_key()


@functools.lru_cache(maxsize=1)
def public_key_pem() -> str:
    return public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def sign(data: bytes) -> str:
    """Base64 of the Ed25519 signature of ``data``."""
    return base64.b64encode(private_key().sign(data)).decode()


def load_public_key(pem: str | bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError("Not an Ed25519 public key.")
    return key


def verify(data: bytes, signature_b64: str, *, public: Ed25519PublicKey | None = None) -> bool:
    """True when ``signature_b64`` signs ``data`` (under ``public``, default: our own key)."""
    try:
        (public or public_key()).verify(base64.b64decode(signature_b64, validate=True), data)
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True
