from cdp.commands import CdpCommand
from cdp.context import Actor
from licensing.management.commands._common import license_from_key
from licensing.services import license_suspend


class Command(CdpCommand):
    help = "Suspend a license: validation answers SUSPENDED until it is reinstated."

    def add_arguments(self, parser):
        parser.add_argument("key")
        parser.add_argument("--reason", default="Suspended by an operator.")

    def handle(self, *args, key, reason, **options):
        license = license_from_key(key)
        license = license_suspend(license=license, reason=reason, actor=Actor.system("command:suspend_license"))
        self.stdout.write(self.style.SUCCESS(f"License {license.key_prefix}… is {license.status}."))
