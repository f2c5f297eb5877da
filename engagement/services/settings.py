"""The tenant's sending rules (double opt-in, frequency cap, quiet hours, monthly quota) and its
own provider accounts (credentials encrypted at rest with ``cdp.crypto``).

Credentials: a tenant either uses the platform's account at a provider (the ``ENGAGEMENT_*``
settings) or its own, never a mix of both (a tenant's token with the platform's sender number
would send as someone else). Secrets are write-only: the services take them, store them encrypted,
and nothing reads them back except the worker that calls the provider; a blank secret in a form
keeps the stored one. Providers' base URLs stay the operator's (the SSRF guard's premise); the one
host a tenant names is its SMTP relay, which must resolve to a public address.
"""

from __future__ import annotations

import datetime
import json

from django.db import transaction

from cdp.context import Actor
from cdp.crypto import decrypt_text, encrypt_text
from cdp.exceptions import ApplicationError
from engagement.channels.email import smtp_host_check
from engagement.codes import AuditAction, ErrorCode
from engagement.models import EngagementSettings, ProviderCredentials
from engagement.selectors import PROVIDER_FIELDS, Provider
from engagement.services.common import audit

# --- writes -------------------------------------------------------------------------------------

def _smtp_url_check(url: str) -> None:
    """A tenant's relay: a well-formed smtp(s) URL whose host resolves to public addresses only."""
    try:
        smtp_host_check(url)
    except ValueError as exc:
        raise ApplicationError(str(exc), code=ErrorCode.PROVIDER_CREDENTIALS_INVALID, fields={"url": [str(exc)]}) \
            from None


@transaction.atomic
def provider_credentials_set(*, provider: str, public: dict, secrets: dict, actor: Actor,
                             is_active: bool = True) -> ProviderCredentials:
    """Save the tenant's own account at ``provider``. ``secrets`` with a blank value keep the
    stored one (forms never show secrets, so they cannot send them back). Refuses unknown fields
    and an account left without one of its secrets. The audit entry names the fields changed,
    never a secret's value."""
    if provider not in PROVIDER_FIELDS:
        raise ApplicationError("Unknown provider.", code=ErrorCode.PROVIDER_CREDENTIALS_INVALID,
                               fields={"provider": [f"One of {', '.join(PROVIDER_FIELDS)}."]})
    fields = PROVIDER_FIELDS[provider]
    unknown = (set(public) - set(fields["public"])) | (set(secrets) - set(fields["secret"]))
    if unknown:
        raise ApplicationError("Unknown fields.", code=ErrorCode.PROVIDER_CREDENTIALS_INVALID,
                               fields={name: ["Not a setting of this provider."] for name in sorted(unknown)})
    row = ProviderCredentials.objects.select_for_update().filter(provider=provider).first() or \
        ProviderCredentials(provider=provider)
    stored = json.loads(decrypt_text(row.secrets_encrypted)) if row.secrets_encrypted else {}
    changed_secrets = sorted(name for name, value in secrets.items() if str(value or "").strip())
    merged = {**stored, **{name: str(secrets[name]).strip() for name in changed_secrets}}
    missing = [name for name in fields["secret"] if not merged.get(name)
               and not (provider == Provider.WHATSAPP and name == "verify_token")]
    if is_active and missing:
        raise ApplicationError("Every secret of the account is needed.", code=ErrorCode.PROVIDER_CREDENTIALS_INVALID,
                               fields={name: ["Required."] for name in missing})
    if provider == Provider.SMTP and "url" in changed_secrets:
        _smtp_url_check(merged["url"])
    new_public = {name: str(public.get(name, row.public.get(name, "")) or "").strip() for name in fields["public"]}
    before_public = dict(row.public or {})
    row.public, row.is_active, row.updated_by = new_public, bool(is_active), actor.label[:255]
    row.secrets_encrypted = encrypt_text(json.dumps(merged, sort_keys=True)) if merged else ""
    row.save()
    changes = {name: [before_public.get(name), value] for name, value in new_public.items()
               if before_public.get(name) != value}
    if changed_secrets:
        changes["secrets_replaced"] = changed_secrets
    audit(actor=actor, action=AuditAction.PROVIDER_CREDENTIALS_SET, resource_type="provider_credentials",
          resource_id=provider, changes=changes)
    return row


@transaction.atomic
def provider_credentials_remove(*, provider: str, actor: Actor) -> int:
    """Forget the tenant's own account at ``provider`` (the platform's applies again)."""
    deleted, _ = ProviderCredentials.objects.filter(provider=provider).delete()
    if deleted:
        audit(actor=actor, action=AuditAction.PROVIDER_CREDENTIALS_REMOVE, resource_type="provider_credentials",
              resource_id=provider)
    return deleted


def provider_credentials_rotate_all() -> int:
    """Re-encrypt the tenant's stored secrets with the newest ``CDP_CREDENTIALS_KEYS`` key."""
    count = 0
    for row in ProviderCredentials.objects.exclude(secrets_encrypted="").only("id", "secrets_encrypted"):
        ProviderCredentials.objects.filter(pk=row.pk).update(
            secrets_encrypted=encrypt_text(decrypt_text(row.secrets_encrypted)))
        count += 1
    return count


SETTINGS_FIELDS = ("double_opt_in_email", "frequency_cap", "frequency_window_hours", "quiet_hours_start",
                   "quiet_hours_end", "monthly_send_quota", "track_clicks", "attribution_days")
MAX_ATTRIBUTION_DAYS = 90


@transaction.atomic
def engagement_settings_update(*, actor: Actor, **values) -> EngagementSettings:
    """Change the tenant's sending rules (only the fields given). Quiet hours need both ends (or
    neither); the window is at least one hour."""
    unknown = set(values) - set(SETTINGS_FIELDS)
    if unknown:
        raise ApplicationError("Unknown fields.", fields={name: ["Not a setting."] for name in sorted(unknown)})
    row = EngagementSettings.objects.select_for_update().filter(pk=EngagementSettings.SINGLETON).first() or \
        EngagementSettings(pk=EngagementSettings.SINGLETON)
    before = {name: getattr(row, name) for name in SETTINGS_FIELDS}
    for name, value in values.items():
        setattr(row, name, value)
    if (row.quiet_hours_start is None) != (row.quiet_hours_end is None):
        message = "Give both ends of the quiet hours, or neither."
        raise ApplicationError(message, fields={"quiet_hours_end": [message]})
    if row.quiet_hours_start is not None and row.quiet_hours_start == row.quiet_hours_end:
        message = "Quiet hours must not start and end at the same time."
        raise ApplicationError(message, fields={"quiet_hours_end": [message]})
    if row.frequency_window_hours is None or row.frequency_window_hours < 1:
        raise ApplicationError("At least one hour.", fields={"frequency_window_hours": ["At least one hour."]})
    if row.attribution_days is None or not 1 <= row.attribution_days <= MAX_ATTRIBUTION_DAYS:
        message = f"Between 1 and {MAX_ATTRIBUTION_DAYS} days."
        raise ApplicationError(message, fields={"attribution_days": [message]})
    row.updated_by = actor.label[:255]
    row.full_clean(validate_unique=False, validate_constraints=False)
    row.save()

    def text(value):
        return value.isoformat() if isinstance(value, datetime.time) else value

    audit(actor=actor, action=AuditAction.SETTINGS_UPDATE, resource_type="engagement_settings", resource_id=1,
          changes={name: [text(before[name]), text(getattr(row, name))] for name in SETTINGS_FIELDS
                   if before[name] != getattr(row, name)})
    return row
