"""The language and time zone a tenant's pages and e-mails speak (settings.LANGUAGES, tenant settings)."""

from __future__ import annotations

import contextlib
import zoneinfo

from django.conf import settings as django_settings
from django.utils import timezone, translation


def supported_language(code: str | None) -> str | None:
    """The settings.LANGUAGES code serving ``code`` ("pt", "pt_BR", "pt-BR" -> "pt-br"), or None."""
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(str(code).strip().lower().replace("_", "-"))
    except LookupError:
        return None


def tenant_language(tenant) -> str:
    """The tenant's ``language`` setting as a served language; English where it has no catalog."""
    if tenant is None or getattr(tenant, "is_public", True):
        return django_settings.LANGUAGE_CODE
    return supported_language(tenant.setting("language")) or django_settings.LANGUAGE_CODE


def tenant_timezone(tenant) -> zoneinfo.ZoneInfo | None:
    """The tenant's ``timezone`` setting (validated when saved), None on the platform host."""
    if tenant is None or getattr(tenant, "is_public", True):
        return None
    try:
        return zoneinfo.ZoneInfo(str(tenant.setting("timezone")))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


@contextlib.contextmanager
def tenant_locale(tenant, language: str | None = None):
    """Render in ``language`` (default: the tenant's) and the tenant's time zone: e-mails and
    anything else produced outside a request for the tenant's people."""
    zone = tenant_timezone(tenant)
    with translation.override(supported_language(language) or tenant_language(tenant)):
        if zone is None:
            yield
        else:
            with timezone.override(zone):
                yield
