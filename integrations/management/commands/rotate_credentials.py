"""Re-encrypt every stored integration credential and webhook secret with the newest key in
CDP_CREDENTIALS_KEYS (put the new key first, keep the old ones after it, run this, then drop them),
the tenant secrets other apps registered (``cdp.registry.register_tenant_credentials_rotator``:
customers' sealed documents, re-hashed too) and the public-schema ones
(``cdp.registry.register_credentials_rotator``: the AI key pool)."""

from __future__ import annotations

from django_tenants.utils import get_public_schema_name, get_tenant_model, tenant_context

from cdp import registry
from cdp.commands import CdpCommand, tenant_by_slug
from cdp.exceptions import ApplicationError
from integrations.services import credentials_rotate_all


class Command(CdpCommand):
    help = "Re-encrypt integration credentials and webhook secrets with the newest credentials key."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="Only this tenant (slug); default: every tenant.")

    def handle(self, *args, tenant: str | None = None, **options):
        tenants = ([tenant_by_slug(tenant)] if tenant else
                   get_tenant_model().objects.exclude(schema_name=get_public_schema_name()).order_by("slug"))
        total = 0
        for each in tenants:
            try:
                with tenant_context(each):
                    count = credentials_rotate_all()
                    # Other apps' tenant secrets (customers' sealed documents and their hashes).
                    count += sum(rotator() for _name, rotator in registry.tenant_credentials_rotators())
            except ApplicationError as exc:
                # Which tenant stopped the rotation (the ones before it are done).
                raise ApplicationError(f"{each.slug}: {exc.message}", code=exc.code, fields=exc.fields) from exc
            total += count
            self.stdout.write(f"{each.slug}: {count} secrets re-encrypted")
        if not tenant:
            for name, rotator in registry.credentials_rotators():
                count = rotator()
                total += count
                self.stdout.write(f"{name}: {count} secrets re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"Done: {total} secrets re-encrypted with the newest key."))
