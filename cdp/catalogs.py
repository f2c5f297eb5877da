"""Compile the gettext catalogs (``locale/<lang>/LC_MESSAGES/django.po`` -> ``.mo``).

``make setup`` runs ``python -m cdp.catalogs``. Babel's compiler rather than Django's
``compilemessages``: that one shells out to GNU gettext's ``msgfmt``, which is not installed on
every machine (a Python-only checkout must still serve translated pages), while Babel is already a
dependency (cdp/formats.py). A catalog is compiled only when its ``.po`` is newer than its ``.mo``;
a fuzzy entry is left out (gettext's rule: it shows in English until a person confirms it)."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def compile_catalogs(locale_dir: Path = LOCALE_DIR, *, force: bool = False) -> list[Path]:
    """Write every stale ``.mo`` under ``locale_dir``; returns the files written."""
    written = []
    for po_path in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog, use_fuzzy=False)
        written.append(mo_path)
    return written


if __name__ == "__main__":
    for path in compile_catalogs(force="--force" in sys.argv[1:]):
        print(f"compiled {path.relative_to(LOCALE_DIR.parent)}")
