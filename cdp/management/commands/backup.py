"""``manage.py backup --output DIR``: a base backup plus WAL archiving (embedded server) or a pg_dump
(DATABASE_URL), with the keys encrypted data needs (see cdp/ops/backup.py)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from cdp import embedded
from cdp.commands import CdpCommand
from cdp.ops import backup


class Command(CdpCommand):
    help = "Back up the database (and the keys its encrypted data needs) into a directory."

    def add_arguments(self, parser):
        parser.add_argument("--output", default=settings.CDP_BACKUP_DIR or None,
                            help="Backup directory (default CDP_BACKUP_DIR).")
        parser.add_argument("--without-keys", action="store_true",
                            help="Do not copy the encryption and signing keys (a restore will need them).")
        parser.add_argument("--keep", type=int, default=settings.CDP_BACKUP_KEEP,
                            help="How many backups to keep (older ones and their WAL are removed).")
        parser.add_argument("--restart-server", action="store_true",
                            help="Restart the embedded server now if WAL archiving needs it (drops connections).")

    def handle(self, *args, output, without_keys, keep, restart_server, **options):
        if not output:
            raise CommandError("--output DIR is required (or set CDP_BACKUP_DIR)")
        try:
            if not embedded.database_is_embedded():
                result = backup.backup_dump(url=embedded.database_url(), output=Path(output), data_dir=embedded.data_dir(),
                                            with_keys=not without_keys, keep=keep)
            else:
                result = backup.backup_embedded(url=embedded.database_url(), pgdata=embedded.data_dir() / "pgdata",
                                                output=Path(output), data_dir=embedded.data_dir(),
                                                with_keys=not without_keys, restart=restart_server, keep=keep)
        except (backup.BackupError, RuntimeError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Backup written to {result.path} ({result.kind}).")
        if result.kind == "basebackup" and not result.archiving:
            self.stdout.write(self.style.WARNING(
                "WAL archiving starts when the embedded server restarts (stop and start `make run`, or pass "
                "--restart-server): until then this backup restores to the moment it was taken, not later."))
        if result.keys_carried:
            self.stdout.write(self.style.WARNING(
                "It carries the credential encryption keys, the license signing key and the secret key "
                "(keys/, mode 0600): keep it as secret as the database."))
        else:
            self.stdout.write(self.style.WARNING(
                "It carries no keys: a restore needs the same CDP_CREDENTIALS_KEYS, CDP_LICENSE_SIGNING_KEY and "
                "DJANGO_SECRET_KEY (or the data dir's secrets/) - fingerprints in backup.json."))
        if result.removed:
            self.stdout.write(f"Removed older backups: {', '.join(result.removed)}")
