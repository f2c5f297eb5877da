from cdp.commands import CdpCommand
from cdp.context import Actor
from tenants.models import Tenant
from tenants.services import tenant_provision


class Command(CdpCommand):
    help = "Create a tenant: its schema (migrated), the <slug>.localhost domain and default settings."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--domain", help="An extra host name for the tenant.")
        parser.add_argument("--type", choices=Tenant.Type.values, default=Tenant.Type.BUSINESS)

    def handle(self, *args, slug, name, domain, type, **options):
        self.stdout.write(f"Provisioning '{slug}' (creating and migrating its schema)...")
        tenant = tenant_provision(slug=slug, name=name, domain=domain, type=type,
                                  actor=Actor.system("command:provision_tenant"))
        domains = ", ".join(tenant.domains.order_by("-is_primary").values_list("domain", flat=True))
        self.stdout.write(self.style.SUCCESS(f"Tenant '{tenant.slug}' ready on {domains}"))
