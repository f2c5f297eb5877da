"""A tenant's host names (the request's host picks the tenant): added, changed and removed by
operators, each audited on the tenant's trail."""

from __future__ import annotations

from cdp.context import Actor
from cdp.exceptions import ApplicationError
from tenants.codes import AuditAction
from tenants.models import Domain, Tenant
from tenants.services.provisioning import HOSTNAME_RE
from tenants.services.records import record_create, record_delete, record_update

DOMAIN_EDITABLE = ("domain", "is_primary")
_MESSAGE = "The host name could not be saved."


def _host(domain: str) -> str:
    host = (domain or "").strip().lower()
    if not HOSTNAME_RE.match(host):
        raise ApplicationError(_MESSAGE, fields={"domain": [f"'{domain}' is not a valid host name."]})
    return host


def domain_create(*, tenant: Tenant, domain: str, actor: Actor, is_primary: bool = False) -> Domain:
    """Add a host name to ``tenant`` (a primary one takes over from the current primary)."""
    return record_create(Domain, fields={"tenant": tenant, "domain": _host(domain), "is_primary": is_primary},
                         actor=actor, action=AuditAction.DOMAIN_CREATE, resource_type="domain", tenant=tenant,
                         message=_MESSAGE)


def domain_update(*, host: Domain, actor: Actor, **fields) -> Domain:
    """Rename ``host`` or make it the tenant's primary one (``fields``: ``domain``, ``is_primary``)."""
    if "domain" in fields:
        fields["domain"] = _host(fields["domain"])
    return record_update(host, fields=fields, editable=DOMAIN_EDITABLE, actor=actor,
                         action=AuditAction.DOMAIN_UPDATE, resource_type="domain", tenant=host.tenant,
                         message=_MESSAGE)


def domain_delete(*, host: Domain, actor: Actor) -> None:
    """Remove ``host``: requests to it no longer reach the tenant."""
    record_delete(host, describe=("domain", "is_primary"), actor=actor, action=AuditAction.DOMAIN_DELETE,
                  resource_type="domain", tenant=host.tenant)
