"""Machine-local secrets for development, generated once and kept under the data directory."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cdp.embedded import data_dir


def local_secret(name: str, nbytes: int = 48) -> str:
    """Return the secret ``name`` from ``$CDP_DATA_DIR/secrets/``, creating it (mode 0600) if absent."""
    folder = data_dir() / "secrets"
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / name
    if not path.exists():
        value = secrets.token_urlsafe(nbytes)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(value)
    return path.read_text().strip()


def local_secret_write(name: str, value: str) -> Path:
    """Replace the secret ``name`` under ``$CDP_DATA_DIR/secrets/`` (mode 0600); returns its path."""
    folder = data_dir() / "secrets"
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / name
    temporary = folder / f".{name}.new"
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    temporary.replace(path)
    return path


def admin_password_path() -> Path:
    """Where bootstrap and reset_password keep the operators' admin password of a development
    machine (readable only by its owner, like the other local secrets)."""
    return data_dir() / "secrets" / "admin-password"
