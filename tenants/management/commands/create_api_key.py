from cdp.commands import CdpCommand, tenant_by_slug
from cdp.context import Actor
from tenants.roles import CAPABILITIES, DEFAULT_KEY_SCOPES
from tenants.services import api_key_create


class Command(CdpCommand):
    help = "Create an API key for a tenant. The key is printed alone on the last line, once."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--scopes", nargs="+", choices=CAPABILITIES, default=list(DEFAULT_KEY_SCOPES))

    def handle(self, *args, slug, name, scopes, **options):
        tenant = tenant_by_slug(slug)
        issued = api_key_create(tenant=tenant, name=name, scopes=scopes, actor=Actor.system("command:create_api_key"))
        self.stderr.write(f"Key '{name}' for {slug} (prefix {issued.api_key.prefix}, scopes {', '.join(scopes)}). "
                          "It is shown once:")
        self.stdout.write(issued.key)
