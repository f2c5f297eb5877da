from django.core.management.base import BaseCommand, CommandError

from cdp.context import Actor
from cdp.exceptions import ApplicationError
from licensing.management.commands._common import license_from_key
from licensing.services import license_suspend
from tenants.management.commands.provision_tenant import one_line


class Command(BaseCommand):
    help = "Suspend a license: validation answers SUSPENDED until it is reinstated."

    def add_arguments(self, parser):
        parser.add_argument("key")
        parser.add_argument("--reason", default="Suspended by an operator.")

    def handle(self, *args, key, reason, **options):
        license = license_from_key(key)
        try:
            license = license_suspend(license=license, reason=reason, actor=Actor.system("command:suspend_license"))
        except ApplicationError as exc:
            raise CommandError(one_line(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"License {license.key_prefix}… is {license.status}."))
