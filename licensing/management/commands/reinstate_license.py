from cdp.commands import CdpCommand
from cdp.context import Actor
from licensing.management.commands._common import license_from_key
from licensing.services import license_reinstate


class Command(CdpCommand):
    help = "Reinstate a suspended license."

    def add_arguments(self, parser):
        parser.add_argument("key")

    def handle(self, *args, key, **options):
        license = license_from_key(key)
        license = license_reinstate(license=license, actor=Actor.system("command:reinstate_license"))
        self.stdout.write(self.style.SUCCESS(f"License {license.key_prefix}… is {license.status}."))
