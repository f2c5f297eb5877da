from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cdp.context import Actor
from cdp.exceptions import ApplicationError
from licensing.management.commands._common import license_from_key
from licensing.services import license_file_issue
from tenants.management.commands.provision_tenant import one_line


class Command(BaseCommand):
    help = "Write a signed offline license file (verify it with verify_license_file)."

    def add_arguments(self, parser):
        parser.add_argument("key")
        parser.add_argument("--days", type=int, help="Validity in days (default CDP_LICENSE_FILE_DAYS).")
        parser.add_argument("--fingerprint", help="Bind the file to one machine.")
        parser.add_argument("--output", help="File to write (default: standard output).")

    def handle(self, *args, key, days, fingerprint, output, **options):
        license = license_from_key(key)
        try:
            content = license_file_issue(license=license, days=days, fingerprint=fingerprint,
                                         actor=Actor.system("command:export_license_file"))
        except ApplicationError as exc:
            raise CommandError(one_line(exc)) from exc
        if output:
            Path(output).write_text(content)
            self.stderr.write(f"Wrote {output}.")
        else:
            self.stdout.write(content, ending="")
