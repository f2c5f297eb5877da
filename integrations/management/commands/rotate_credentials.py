"""Re-encrypt every stored integration credential and webhook secret with the newest key in
CDP_CREDENTIALS_KEYS (put the new key first, keep the old ones after it, run this, then drop them)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from cdp.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Re-encrypt integration credentials and webhook secrets with the newest credentials key."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="Only this tenant (slug); default: every tenant.")

    def handle(self, *args, **options):
        from integrations.services import credentials_rotate_all
        from tenants.models import Tenant

        tenants = Tenant.objects.exclude(schema_name="public").order_by("slug")
        if options.get("tenant"):
            tenants = tenants.filter(slug=options["tenant"])
            if not tenants.exists():
                raise CommandError(f"No tenant '{options['tenant']}'.")
        total = 0
        for tenant in tenants:
            try:
                with tenant_context(tenant):
                    count = credentials_rotate_all()
            except ApplicationError as exc:
                raise CommandError(f"{tenant.slug}: {exc.message}") from exc
            total += count
            self.stdout.write(f"{tenant.slug}: {count} secrets re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"Done: {total} secrets re-encrypted with the newest key."))
