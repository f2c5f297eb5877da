"""Machine-local secrets for development, generated once and kept under the data directory."""

from __future__ import annotations

import os
import secrets

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
