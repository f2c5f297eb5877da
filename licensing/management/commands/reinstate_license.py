from django.core.management.base import BaseCommand, CommandError

from cdp.context import Actor
from cdp.exceptions import ApplicationError
from licensing.management.commands._common import license_from_key
from licensing.services import license_reinstate
from tenants.management.commands.provision_tenant import one_line


class Command(BaseCommand):
    help = "Reinstate a suspended license."

    def add_arguments(self, parser):
        parser.add_argument("key")

    def handle(self, *args, key, **options):
        license = license_from_key(key)
        try:
            license = license_reinstate(license=license, actor=Actor.system("command:reinstate_license"))
        except ApplicationError as exc:
            raise CommandError(one_line(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"License {license.key_prefix}… is {license.status}."))
