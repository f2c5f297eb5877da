"""``manage.py tenant_import FILE``: a tenant exported by tenant_export, into this cluster."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandError

from cdp import embedded
from cdp.commands import CdpCommand
from cdp.ops import backup, tenant_move


class Command(CdpCommand):
    help = "Import a tenant exported by tenant_export (it must not exist here)."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        try:
            result = tenant_move.tenant_import(
                path=Path(file), database_url=embedded.database_url(),
                progress=lambda message: self.stdout.write(f"  {message}"))
        except (backup.BackupError, RuntimeError, OSError, KeyError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Imported '{result['slug']}' (schema {result['schema']}); "
                          f"{result['reencrypted']} credentials re-encrypted with this cluster's key.")
        for warning in result["warnings"]:
            self.stdout.write(self.style.WARNING(warning))
