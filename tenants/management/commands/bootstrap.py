"""Idempotent first-run setup used by ``make run``: public tenant, demo tenant, staff superuser."""

import secrets

from django.core.management import call_command

from cdp import registry
from cdp.commands import CdpCommand
from cdp.context import Actor
from tenants import conf
from tenants.models import Role, Tenant, User
from tenants.services import membership_set, platform_tenant_ensure, tenant_provision, user_create

PUBLIC_HOSTS = ("localhost", "127.0.0.1")


class Command(CdpCommand):
    help = "Ensure the public tenant, the demo tenant on demo.localhost and a staff superuser exist."

    def add_arguments(self, parser):
        parser.add_argument("--admin-email", default=None, help="Default: CDP_ADMIN_EMAIL.")
        parser.add_argument("--no-demo-data", action="store_true", help="Skip loading demo data.")

    def handle(self, *args, admin_email, no_demo_data, **options):
        actor = Actor.system("command:bootstrap")
        platform_tenant_ensure(hosts=PUBLIC_HOSTS, actor=actor)

        demo = Tenant.objects.filter(slug="demo").first()
        if demo is None:
            self.stdout.write("Creating the demo tenant (schema demo on demo.localhost)...")
            demo = tenant_provision(slug="demo", name="Demo Store", type=Tenant.Type.BUSINESS, actor=actor)

        admin_email = admin_email or conf.get("CDP_ADMIN_EMAIL")
        admin = User.objects.filter(email=admin_email.lower()).first()
        if admin is None:
            password = conf.get("CDP_ADMIN_PASSWORD")
            generated = not password
            password = password or secrets.token_urlsafe(12)
            admin = user_create(email=admin_email, password=password, full_name="Platform admin",
                                is_superuser=True, actor=actor)
            if generated:
                self.stdout.write(self.style.WARNING(
                    f"Created superuser {admin.email} with password: {password}  (shown once; "
                    "set CDP_ADMIN_PASSWORD to choose it)"))
            else:
                self.stdout.write(f"Created superuser {admin.email} (password from CDP_ADMIN_PASSWORD).")
        membership_set(user=admin, tenant=demo, role=Role.OWNER, actor=actor)

        if not no_demo_data:
            for command in registry.demo_data_commands():
                call_command(command, "--tenant", demo.slug)
        self.stdout.write(self.style.SUCCESS("Bootstrap complete."))
