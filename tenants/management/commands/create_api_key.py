from django.core.management.base import BaseCommand, CommandError

from cdp.context import Actor
from cdp.exceptions import ApplicationError
from tenants.management.commands.provision_tenant import one_line
from tenants.models import Tenant
from tenants.roles import CAPABILITIES, DEFAULT_KEY_SCOPES
from tenants.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a tenant. The key is printed alone on the last line, once."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--scopes", nargs="+", choices=CAPABILITIES, default=list(DEFAULT_KEY_SCOPES))

    def handle(self, *args, slug, name, scopes, **options):
        tenant = Tenant.objects.exclude(schema_name="public").filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug '{slug}'.")
        try:
            issued = api_key_create(tenant=tenant, name=name, scopes=scopes,
                                    actor=Actor.system("command:create_api_key"))
        except ApplicationError as exc:
            raise CommandError(one_line(exc)) from exc
        self.stderr.write(f"Key '{name}' for {slug} (prefix {issued.api_key.prefix}, scopes {', '.join(scopes)}). "
                          "It is shown once:")
        self.stdout.write(issued.key)
