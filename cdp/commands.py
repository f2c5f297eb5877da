"""The base of every management command: one way to name a tenant and one way to fail.

- ``CdpCommand``: a refusal from a service (``ApplicationError``) ends the command with one
  readable line and exit status 1 (``CommandError``), never a traceback.
- ``TenantCommand``: adds ``--tenant SLUG`` (one lookup, one message for an unknown slug) and runs
  ``handle_tenant(tenant, **options)`` inside that tenant's schema.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import get_public_schema_name, get_tenant_model, tenant_context

from cdp.exceptions import ApplicationError


def tenant_by_slug(slug: str):
    """The tenant (never the public one) whose slug is ``slug``, or ``CommandError``."""
    tenant = get_tenant_model().objects.filter(slug=slug).exclude(schema_name=get_public_schema_name()).first()
    if tenant is None:
        raise CommandError(f"Unknown tenant '{slug}'.")
    return tenant


class CdpCommand(BaseCommand):
    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except ApplicationError as exc:
            raise CommandError(exc.as_text()) from exc


class TenantCommand(CdpCommand):
    """A command about one tenant: ``--tenant SLUG`` is required and the work runs in its schema."""

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="The tenant's slug.")

    def handle(self, *args, **options):
        tenant = tenant_by_slug(options.pop("tenant"))
        with tenant_context(tenant):
            return self.handle_tenant(tenant, *args, **options)

    def handle_tenant(self, tenant, *args, **options):
        raise NotImplementedError
