"""``manage.py restore --input DIR --data-dir NEW``: restore a backup into an empty data directory,
whole or to a point in time; a pg_dump backup into the empty database of DATABASE_URL."""

from __future__ import annotations

import datetime
from pathlib import Path

from django.core.management.base import CommandError

from cdp import embedded
from cdp.commands import CdpCommand
from cdp.ops import backup


class Command(CdpCommand):
    help = "Restore a backup made by `manage.py backup` (into an empty data directory or database)."

    def add_arguments(self, parser):
        parser.add_argument("--input", required=True, help="The backup directory.")
        parser.add_argument("--data-dir", help="An empty data directory to restore into (default CDP_DATA_DIR).")
        parser.add_argument("--target-time", help="Replay up to this moment (ISO 8601 with time zone).")
        parser.add_argument("--label", help="A specific base backup (default: the newest that fits).")
        parser.add_argument("--target-url", help="pg_dump backups: the empty database (default DATABASE_URL).")

    def handle(self, *args, input, data_dir, target_time, label, target_url, **options):
        when = None
        if target_time:
            try:
                when = datetime.datetime.fromisoformat(target_time)
            except ValueError:
                raise CommandError("--target-time: use ISO 8601, e.g. 2026-12-07T18:30:00+00:00") from None
            if when.tzinfo is None:
                raise CommandError("--target-time needs a time zone, e.g. +00:00")
        target_dir = Path(data_dir) if data_dir else embedded.data_dir()
        try:
            dumps = [entry for entry in backup.backups_list(Path(input)) if entry["kind"] == "pg_dump"]
            if dumps and not any(e["kind"] == "basebackup" for e in backup.backups_list(Path(input))):
                # The database this installation uses (DATABASE_URL, else the embedded one that
                # manage.py started), as the backup and tenant_export commands name it.
                url = target_url or embedded.database_url()
                result = backup.restore_dump(input_dir=Path(input), url=url, data_dir=target_dir, label=label)
            else:
                result = backup.restore_embedded(input_dir=Path(input), data_dir=target_dir, target_time=when,
                                                 label=label)
        except (backup.BackupError, RuntimeError, OSError, TimeoutError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Restored backup {result['label']} into {target_dir}"
                          + (f" up to {result['target_time']}" if result.get("target_time") else "") + ".")
        if result["keys"]["files"]:
            self.stdout.write(f"Keys put back under {target_dir / 'secrets'}: {', '.join(result['keys']['files'])}.")
        if result["keys"]["env"]:
            self.stdout.write(self.style.WARNING(
                "Start the restored installation with these variables (values in the backup's keys/env.json): "
                + ", ".join(sorted(result["keys"]["env"]))))
        if not result["keys_carried"]:
            self.stdout.write(self.style.WARNING(
                "The backup carries no keys: start with the keys of the original installation (fingerprints: "
                + ", ".join(f"{k}={v}" for k, v in result["key_fingerprints"].items()) + ")."))
        self.stdout.write(f"Start it with CDP_DATA_DIR={target_dir}.")
