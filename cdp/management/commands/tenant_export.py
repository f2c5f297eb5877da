"""``manage.py tenant_export SLUG FILE``: one tenant (schema and shared rows) into a file."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandError

from cdp import embedded
from cdp.commands import CdpCommand, tenant_by_slug
from cdp.ops import backup, tenant_move


class Command(CdpCommand):
    help = "Export one tenant (its schema, its shared rows, its credential keys) to move or restore it."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("file")
        parser.add_argument("--without-keys", action="store_true",
                            help="Do not include the credential keys (the target must already have them).")

    def handle(self, *args, slug, file, without_keys, **options):
        tenant_by_slug(slug)  # the one 'Unknown tenant' answer of every command
        try:
            manifest = tenant_move.tenant_export(slug=slug, output=Path(file), with_keys=not without_keys,
                                                 database_url=embedded.database_url())
        except (backup.BackupError, RuntimeError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        rows = sum(manifest["public_counts"].values())
        self.stdout.write(f"Exported '{slug}' (schema {manifest['schema']}, {rows} shared rows) to {file}.")
        if manifest["keys_carried"]:
            self.stdout.write(self.style.WARNING("The file carries the credential keys: keep it secret."))
