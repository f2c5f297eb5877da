from pathlib import Path

from cdp.commands import CdpCommand
from cdp.context import Actor
from licensing.management.commands._common import license_from_key
from licensing.services import license_file_issue


class Command(CdpCommand):
    help = "Write a signed offline license file (verify it with verify_license_file)."

    def add_arguments(self, parser):
        parser.add_argument("key")
        parser.add_argument("--days", type=int, help="Validity in days (default CDP_LICENSE_FILE_DAYS).")
        parser.add_argument("--fingerprint", help="Bind the file to one machine.")
        parser.add_argument("--output", help="File to write (default: standard output).")

    def handle(self, *args, key, days, fingerprint, output, **options):
        license = license_from_key(key)
        content = license_file_issue(license=license, days=days, fingerprint=fingerprint,
                                     actor=Actor.system("command:export_license_file"))
        if output:
            Path(output).write_text(content)
            self.stderr.write(f"Wrote {output}.")
        else:
            self.stdout.write(content, ending="")
