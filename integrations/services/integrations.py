"""Integration configuration: create, update, delete; credentials are encrypted here and only
here, and never returned."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import connection, transaction
from django.db.utils import IntegrityError

from cdp import softdelete
from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict, full_clean_or_raise
from cdp.ids import get_or_not_found
from cdp.redact import urls_redact
from integrations import crypto
from integrations.codes import AuditAction, ErrorCode
from integrations.connectors import credential_urls
from integrations.http import url_guard
from integrations.models import Integration, WebhookEndpoint
from tenants.services import audit_record

#: Credentials each type needs (others may be given; everything in ``credentials`` is secret).
REQUIRED_CREDENTIALS = {
    "vtex": ("app_key", "app_token"),
    "mercadolibre": ("client_id", "client_secret", "refresh_token"),
    "google_ads": ("developer_token",),
    "facebook_ads": ("access_token",),
    "crm_webhook": ("signing_secret",),
}
#: Google Ads needs an access token, given as is or (usually) obtained with these.
GOOGLE_OAUTH_CREDENTIALS = ("client_id", "client_secret", "refresh_token")
REQUIRED_CONFIG = {"mercadolibre": ("seller_id",), "google_ads": ("customer_id",), "facebook_ads": ("ad_account_id",)}
#: Types without a production API of their own: the base URL is where we call.
REQUIRED_BASE_URL = ("crm_webhook",)
#: Config keys holding a URL the server calls (guarded like ``base_url``).
URL_CONFIG_KEYS = ("oauth_base_url",)
#: Credentials we only ever check (a secret the source sends us), never send: they may stay
#: when the hosts the other credentials go to change.
INBOUND_ONLY_CREDENTIALS = ("hook_secret",)
UPDATABLE = ("account_name", "base_url", "config", "sync_frequency", "is_active")


def integration_credentials(*, integration: Integration) -> dict:
    """The decrypted credentials (in memory only; never log or return them)."""
    return crypto.decrypt_json(integration.credentials_encrypted)


def _missing_credentials(integration_type: str, credentials: dict) -> list[str]:
    missing = [key for key in REQUIRED_CREDENTIALS.get(integration_type, ()) if not credentials.get(key)]
    if integration_type == "google_ads" and not credentials.get("access_token"):
        missing += [key for key in GOOGLE_OAUTH_CREDENTIALS if not credentials.get(key)]
    return missing


def _validate(*, integration_type: str, credentials: dict, config: dict, base_url: str) -> None:
    fields = {}
    missing = _missing_credentials(integration_type, credentials)
    if missing:
        fields["credentials"] = [f"Required for {integration_type}: {', '.join(missing)}."]
    missing = [key for key in REQUIRED_CONFIG.get(integration_type, ()) if not config.get(key)]
    if missing:
        fields["config"] = [f"Required for {integration_type}: {', '.join(missing)}."]
    if integration_type in REQUIRED_BASE_URL and not base_url:
        fields["base_url"] = [f"Required for {integration_type}: the URL we send to."]
    if any(not isinstance(value, (str, int, float, bool, type(None))) for value in credentials.values()):
        fields.setdefault("credentials", []).append("Values must be strings.")
    if fields:
        raise ApplicationError("Some fields are invalid.", fields=fields)


def _normalized_url(url: str) -> tuple:
    parts = urlsplit(url or "")
    return (parts.scheme.lower(), (parts.hostname or "").lower(), parts.port, parts.path.rstrip("/"), parts.query)


def _credential_targets(integration: Integration) -> list[tuple]:
    """Where the integration's credentials go (base URL or the production API it stands for,
    Google's OAuth server...), normalized so that a trailing slash or letter case is no change."""
    return [_normalized_url(url) for url in credential_urls(integration)]


def _urls_guard(*, base_url: str | None = None, config: dict | None = None) -> None:
    """The server will call these URLs, so they must be public (SSRF); syncs check them again."""
    if base_url:
        url_guard(base_url, field="base_url")
    for key in URL_CONFIG_KEYS:
        value = (config or {}).get(key)
        if value in (None, ""):
            continue
        try:
            URLValidator(schemes=["http", "https"])(value)
        except ValidationError:
            raise ApplicationError("Some fields are invalid.",
                                   fields={"config": [f"{key} must be an http(s) URL."]}) from None
        url_guard(value, field="config")


def _audit(*, actor: Actor, action: str, integration: Integration, changes: dict | None = None) -> None:
    audit_record(actor=actor, action=action, resource_type="integration", resource_id=integration.pk,
                 tenant=connection.tenant, changes=urls_redact(changes or {}))


@transaction.atomic
def integration_create(*, integration_type: str, account_name: str, credentials: dict, actor: Actor,
                       base_url: str = "", config: dict | None = None, sync_frequency: str = "daily",
                       is_active: bool = True) -> Integration:
    """Create an integration with encrypted credentials. Raises ApplicationError on missing
    credentials/config, Conflict when the type and account already exist."""
    config = dict(config or {})
    credentials = dict(credentials or {})
    if integration_type not in Integration.Type.values:
        raise ApplicationError("Unknown integration type.", fields={"integration_type": ["Unknown type."]})
    _validate(integration_type=integration_type, credentials=credentials, config=config, base_url=base_url)
    integration = Integration(integration_type=integration_type, account_name=account_name, base_url=base_url,
                              config=config, sync_frequency=sync_frequency, is_active=is_active,
                              credentials_encrypted=crypto.encrypt_json(credentials))
    full_clean_or_raise(integration, "Some fields are invalid.", exclude=["credentials_encrypted"],
                        validate_unique=False, validate_constraints=False)
    _urls_guard(base_url=base_url, config=config)
    try:
        with transaction.atomic():
            integration.save()
    except IntegrityError:
        raise Conflict(f"A {integration_type} integration for '{account_name}' already exists.",
                       code=ErrorCode.INTEGRATION_EXISTS, fields={"account_name": ["Already connected."]}) from None
    _audit(actor=actor, action=AuditAction.INTEGRATION_CREATE, integration=integration, changes={
        "integration_type": integration_type, "account_name": account_name, "base_url": base_url,
        "sync_frequency": sync_frequency, "credentials": sorted(credentials)})  # key names only
    return integration


@transaction.atomic
def integration_update(*, integration_id: int, actor: Actor, credentials: dict | None = None,
                       **values) -> Integration:
    """Update settings; ``credentials`` are merged into the stored ones (a ``null`` value removes a
    key) and re-encrypted. Changing the account or base URL resets the cursor (a new source).
    Changing where the credentials are sent (the base URL, VTEX's account when it names the host,
    Google's ``oauth_base_url``) drops the stored ones and needs them in the same call, else
    ``credentials_required`` (400 on ``credentials``): an admin cannot redirect secrets an owner
    typed to a host of their choosing."""
    integration = get_or_not_found(Integration, integration_id, "No such integration.", lock=True)
    unknown = set(values) - set(UPDATABLE)
    if unknown:
        raise ApplicationError(f"Cannot update: {', '.join(sorted(unknown))}.")
    targets = _credential_targets(integration)
    changes = {}
    for key, value in values.items():
        if getattr(integration, key) != value:
            changes[key] = [getattr(integration, key), value]
            setattr(integration, key, value)
    moved = _credential_targets(integration) != targets
    merged = integration_credentials(integration=integration)
    if moved:
        # The credentials would go to another host: the stored ones stay behind (only those never
        # sent anywhere are kept), and this call must carry them again.
        merged = {key: value for key, value in merged.items() if key in INBOUND_ONLY_CREDENTIALS}
        changes["credentials_cleared"] = True
    if credentials is not None:
        for key, value in credentials.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        changes["credentials"] = sorted(credentials)  # which keys changed, never the values
    full_clean_or_raise(integration, "Some fields are invalid.", exclude=["credentials_encrypted"],
                        validate_unique=False, validate_constraints=False)
    # Only what changed: an unchanged URL need not resolve right now (syncs check it anyway).
    _urls_guard(base_url=integration.base_url if "base_url" in changes else None,
                config=integration.config if "config" in changes else None)
    missing = _missing_credentials(integration.integration_type, merged) if moved else []
    if missing:
        message = (f"Where the credentials are sent changed: enter them again ({', '.join(missing)}); "
                   "stored credentials are never sent to a new host.")
        raise ApplicationError("Re-enter the credentials for the new host.", code=ErrorCode.CREDENTIALS_REQUIRED,
                               fields={"credentials": [message]})
    _validate(integration_type=integration.integration_type, credentials=merged, config=integration.config,
              base_url=integration.base_url)
    if "account_name" in changes or "base_url" in changes:
        integration.cursor = {}
    integration.credentials_encrypted = crypto.encrypt_json(merged)
    try:
        with transaction.atomic():
            integration.save()
    except IntegrityError:
        raise Conflict("Another integration has this type and account.", code=ErrorCode.INTEGRATION_EXISTS) from None
    _audit(actor=actor, action=AuditAction.INTEGRATION_UPDATE, integration=integration, changes=changes)
    return integration


@transaction.atomic
def integration_delete(*, integration_id: int, actor: Actor) -> None:
    """Delete an integration: it leaves every list and the API, its syncs and hooks stop, and it
    can be restored (``integration_restore``) for CDP_RESTORE_DAYS days; then the daily purge
    removes it with its sync log, raw payloads and spend rows. Orders it ingested stay (they
    belong to customers)."""
    integration = get_or_not_found(Integration, integration_id, "No such integration.", lock=True)
    if integration.sync_lease_alive():
        raise Conflict("A sync is running; try again when it has finished.", code=ErrorCode.SYNC_RUNNING)
    _audit(actor=actor, action=AuditAction.INTEGRATION_DELETE, integration=integration,
           changes={"integration_type": integration.integration_type, "account_name": integration.account_name})
    integration.delete()


@transaction.atomic
def integration_restore(*, integration_id: int, actor: Actor) -> Integration:
    """Bring back a deleted integration within its restore window (409 ``integration_exists``
    when another one of its type and account was added meanwhile)."""
    integration = get_or_not_found(softdelete.restorable(Integration), integration_id, "No such deleted integration.",
                                   lock=True)
    if Integration.objects.filter(integration_type=integration.integration_type,
                                  account_name=integration.account_name).exists():
        raise Conflict("Another integration has this type and account.", code=ErrorCode.INTEGRATION_EXISTS)
    integration.undelete()
    _audit(actor=actor, action=AuditAction.INTEGRATION_RESTORE, integration=integration,
           changes={"integration_type": integration.integration_type, "account_name": integration.account_name})
    return integration


def integrations_purge(*, actor: Actor) -> int:
    """Remove for good the integrations and webhook endpoints deleted more than CDP_RESTORE_DAYS
    days ago, with what hangs off them (the daily task); each audited. Returns how many."""
    purged = 0
    for integration in softdelete.purge_due(Integration):
        with transaction.atomic():
            _audit(actor=actor, action=AuditAction.INTEGRATION_PURGE, integration=integration,
                   changes={"integration_type": integration.integration_type,
                            "account_name": integration.account_name})
            softdelete.hard_delete(integration)
            purged += 1
    for endpoint in softdelete.purge_due(WebhookEndpoint):
        with transaction.atomic():
            audit_record(actor=actor, action=AuditAction.WEBHOOK_ENDPOINT_PURGE, resource_type="webhook_endpoint",
                         resource_id=endpoint.pk, tenant=connection.tenant, changes=urls_redact({"url": endpoint.url}))
            softdelete.hard_delete(endpoint)
            purged += 1
    return purged


def integration_credentials_store(*, integration_id: int, credentials: dict) -> None:
    """Store credentials a source handed back (a refreshed OAuth token pair), committed at once:
    the source has already invalidated the old refresh token."""
    with transaction.atomic():
        Integration.objects.filter(pk=integration_id).update(credentials_encrypted=crypto.encrypt_json(credentials))


def credentials_rotate_all() -> int:
    """Re-encrypt every stored secret of the current schema with the newest key."""
    count = 0
    with transaction.atomic():
        # Deleted rows too: a restored integration must still read its credentials.
        for integration in Integration.all_objects.select_for_update().exclude(credentials_encrypted=""):
            integration.credentials_encrypted = crypto.rotate(integration.credentials_encrypted)
            integration.save(update_fields=["credentials_encrypted"])
            count += 1
        for endpoint in WebhookEndpoint.all_objects.select_for_update():
            endpoint.secret_encrypted = crypto.rotate(endpoint.secret_encrypted)
            endpoint.save(update_fields=["secret_encrypted"])
            count += 1
    return count
