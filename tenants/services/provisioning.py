from __future__ import annotations

import re
import zoneinfo

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django_tenants.utils import get_public_schema_name

from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict, full_clean_or_raise
from tenants.codes import AuditAction, ErrorCode
from tenants.models import DEFAULT_TENANT_SETTINGS, Domain, Tenant, validate_slug
from tenants.services.audit import audit_record, changes_between
from tenants.services.privacy import privacy_grants_clean

HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
LANGUAGES = {"es", "pt", "en", "ru"}
EDITABLE_FIELDS = ("name", "type", "status", "status_reason", "settings", "branding", "onboarding_completed")


def tenant_settings_clean(value: dict | None, *, base: dict | None = None) -> dict:
    """Defaults merged with ``value`` and validated; raises ApplicationError with per-key messages."""
    if not isinstance(value, dict | None):
        raise ApplicationError("Invalid tenant settings.", fields={"settings": ["Settings are a JSON object."]})
    merged = {**DEFAULT_TENANT_SETTINGS, **(base or {}), **(value or {})}
    merged["features"] = {**DEFAULT_TENANT_SETTINGS["features"], **(base or {}).get("features", {}),
                          **(value or {}).get("features", {})}
    errors: dict[str, list[str]] = {}
    try:
        zoneinfo.ZoneInfo(str(merged["timezone"]))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = [f"Unknown time zone '{merged['timezone']}'."]
    if not CURRENCY_RE.match(str(merged["currency"])):
        errors["currency"] = ["Use an ISO 4217 code such as ARS, BRL or USD."]
    if merged["language"] not in LANGUAGES:
        errors["language"] = [f"Choose one of: {', '.join(sorted(LANGUAGES))}."]
    for key in ("data_retention_days", "max_customers"):
        if not isinstance(merged[key], int) or isinstance(merged[key], bool) or merged[key] < 1:
            errors[key] = ["Must be a positive whole number."]
    if not all(isinstance(flag, bool) for flag in merged["features"].values()):
        errors["features"] = ["Every feature switch is true or false."]
    # Privacy policy switches (issue #21), absent unless the tenant chose them.
    for key, low in (("inactivity_months", 1), ("export_approval_rows", 0)):
        value = merged.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < low):
            errors[key] = [f"Must be a whole number of at least {low}, or null."]
    # Automatic inactivity pseudonymization (beat, nightly): off unless the owners turn it on, and
    # only with a period chosen.
    auto = merged.get("inactivity_auto")
    if auto is not None and not isinstance(auto, bool):
        errors["inactivity_auto"] = ["Must be true or false."]
    elif auto and merged.get("inactivity_months") is None and "inactivity_months" not in errors:
        errors["inactivity_auto"] = ["Choose inactivity_months before turning on automatic pseudonymization."]
    if "privacy_grants" in merged:
        try:
            merged["privacy_grants"] = privacy_grants_clean(merged["privacy_grants"])
        except ApplicationError as exc:
            errors["privacy_grants"] = exc.fields
    if errors:
        raise ApplicationError("Invalid tenant settings.", fields={"settings": errors})
    return merged


def schema_name_for(slug: str) -> str:
    return slug.replace("-", "_")


def tenant_default_domain(slug: str) -> str:
    return f"{slug}.{django_settings.CDP_TENANT_BASE_DOMAIN}"


def tenant_provision(
    *,
    slug: str,
    name: str,
    actor: Actor,
    domain: str | None = None,
    type: str = Tenant.Type.BUSINESS,
    settings: dict | None = None,
) -> Tenant:
    """Create a tenant: its schema (migrated), its ``<slug>.localhost`` domain (plus ``domain``
    if given) and validated settings. All or nothing: a failure leaves no tenant and no schema."""
    slug = (slug or "").strip()
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    try:
        validate_slug(slug)
    except ValidationError as exc:
        errors["slug"] = exc.messages
    if not name:
        errors["name"] = ["A name is required."]
    if type not in Tenant.Type.values:
        errors["type"] = [f"Choose one of: {', '.join(Tenant.Type.values)}."]
    domains = [tenant_default_domain(slug)]
    if domain:
        domain = domain.strip().lower()
        if not HOSTNAME_RE.match(domain):
            errors["domain"] = [f"'{domain}' is not a valid host name."]
        elif domain not in domains:
            domains.append(domain)
    if errors:
        raise ApplicationError("The tenant could not be created.", fields=errors)
    clean_settings = tenant_settings_clean(settings)

    if Tenant.objects.filter(slug=slug).exists() or Tenant.objects.filter(schema_name=schema_name_for(slug)).exists():
        raise Conflict(f"A tenant with slug '{slug}' already exists.", code=ErrorCode.SLUG_TAKEN,
                       fields={"slug": ["Already taken."]})
    taken = list(Domain.objects.filter(domain__in=domains).values_list("domain", flat=True))
    if taken:
        raise Conflict(f"Domain '{taken[0]}' already belongs to another tenant.", code=ErrorCode.DOMAIN_TAKEN,
                       fields={"domain": ["Already taken."]})

    with transaction.atomic():
        tenant = Tenant(schema_name=schema_name_for(slug), slug=slug, name=name, type=type, settings=clean_settings)
        tenant.full_clean(exclude=["schema_name"])
        tenant.save(verbosity=0)
        for index, host in enumerate(domains):
            Domain.objects.create(domain=host, tenant=tenant, is_primary=index == 0)
        audit_record(actor=actor, action=AuditAction.TENANT_PROVISION, resource_type="tenant", resource_id=tenant.pk,
                     tenant=tenant, changes={"slug": slug, "name": name, "type": type, "domains": domains})
    return tenant


def platform_tenant_ensure(*, hosts: tuple[str, ...], actor: Actor) -> Tenant:
    """The public tenant (the platform's own schema, on ``hosts``), created the first time it is
    asked for; idempotent. The creation and every host added are audited."""
    with transaction.atomic():
        public, created = Tenant.objects.get_or_create(
            schema_name=get_public_schema_name(), defaults={"name": "CDP platform", "slug": "platform"})
        added = []
        for index, host in enumerate(hosts):
            _, made = Domain.objects.get_or_create(domain=host, defaults={"tenant": public, "is_primary": index == 0})
            if made:
                added.append(host)
        if created or added:
            audit_record(actor=actor, action=AuditAction.TENANT_PROVISION, resource_type="tenant",
                         resource_id=public.pk, changes={"slug": public.slug, "domains": added})
    return public


def tenant_update(*, tenant: Tenant, actor: Actor, **fields) -> Tenant:
    """Change a tenant's editable fields; settings are merged over the current ones and validated."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ApplicationError("Unknown fields.", fields={key: ["Not editable."] for key in sorted(unknown)})
    if "settings" in fields:
        fields["settings"] = tenant_settings_clean(fields["settings"], base=tenant.settings)
    with transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        before = {key: getattr(locked, key) for key in fields}
        for key, value in fields.items():
            setattr(locked, key, value)
        full_clean_or_raise(locked, "The tenant could not be updated.", exclude=["schema_name"])
        changes = changes_between(before, {key: getattr(locked, key) for key in fields})
        if changes:
            locked.save()
            audit_record(actor=actor, action=AuditAction.TENANT_UPDATE, resource_type="tenant", resource_id=locked.pk,
                         tenant=locked, changes=changes)
    return locked
