"""What each role and each API key scope may do, and which role outranks which.

Capabilities are the single vocabulary the API and the portal check: a membership's role grants
a fixed set; an API key grants exactly its scopes. Each capability is named for what it guards, so
that a key issued for one job (say, a connector with ``integrations``) cannot do another (approve
credit, read the audit trail, export personal data, manage people).
"""

from tenants.models import Role

READ = "read"
WRITE = "write"
ANALYTICS = "analytics"
INTEGRATIONS = "integrations"
KEYS = "keys"
BILLING = "billing"
# See and revoke the members' sign-in sessions. Its own capability (not folded into ``keys``) so
# that an integration key can list/revoke sessions only when it was issued for that on purpose.
SECURITY = "security"
# Approve, suspend and reinstate B2B credit accounts (a money decision, not a connector's job).
CREDIT = "credit"
# Read the tenant's audit trail (who did what, from where).
AUDIT = "audit"
# Invite people, change their roles and remove them, within the role hierarchy below.
MEMBERS = "members"
# Download personal data in bulk (segment CSV exports and the like); every export is audited.
EXPORT = "export"
# Change the loyalty program and its tier rules (they shape every customer's earnings): a
# connector's key (``integrations``) does not get it by accident.
LOYALTY = "loyalty"
# Change what counts as a sale (the counted-sale rule): it rewrites every customer's totals,
# loyalty and analytics, so neither a connector's key nor a writer's gets it by accident.
SALES = "sales"
# See e-mail, phone and document numbers in full; without it every interface shows them masked
# (``customers.masking``: ``a***@d***.com``, ``***-**-4725``). Analytics always computes on the
# real values: masking is applied only where a person or a key reads them.
UNMASK = "unmask"
# Read and change the most sensitive profile fields (document, birth date, notes): without it they
# are hidden (null) on read, and a change to them is refused with a field error
# (``customers.field_permissions``).
SENSITIVE = "sensitive"

CAPABILITIES = (READ, WRITE, ANALYTICS, INTEGRATIONS, KEYS, BILLING, SECURITY, CREDIT, AUDIT, MEMBERS, EXPORT,
                LOYALTY, SALES, UNMASK, SENSITIVE)
DEFAULT_KEY_SCOPES = (READ, WRITE)
#: The capabilities an owner may hand to (or take from) the roles below owner, per tenant
#: (``Tenant.settings["privacy_grants"]``, set by ``tenants.services.privacy_grants_set``).
GRANTABLE = (UNMASK, SENSITIVE)

ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.VIEWER: frozenset({READ}),
    Role.ANALYST: frozenset({READ, ANALYTICS}),
    Role.ADMIN: frozenset({READ, WRITE, ANALYTICS, INTEGRATIONS, KEYS, SECURITY, AUDIT, MEMBERS, CREDIT, EXPORT,
                           LOYALTY, SALES, UNMASK, SENSITIVE}),
    Role.OWNER: frozenset(CAPABILITIES),
}

#: Higher outranks lower. Owners are the top of a tenant: only they grant or take away the owner
#: and admin roles; below them, nobody changes a member whose role is at or above their own, nor
#: grants a role at or above their own.
ROLE_RANK: dict[str, int] = {Role.VIEWER: 1, Role.ANALYST: 2, Role.ADMIN: 3, Role.OWNER: 4}
#: Platform operators (superusers, staff holding the model permission) and system actors
#: (commands, tasks) stand above every tenant role.
PLATFORM_RANK = 100


#: Which roles hold each grantable capability when the tenant has not chosen: owners and admins
#: see personal data in full; analysts and viewers work on masked data (they need patterns, not
#: identities). Owners always hold everything: nobody can lock the owners out.
DEFAULT_PRIVACY_GRANTS: dict[str, tuple[str, ...]] = {
    Role.ADMIN: (UNMASK, SENSITIVE),
    Role.ANALYST: (),
    Role.VIEWER: (),
}


def capabilities_for_role(role: str | None, *, grants: dict | None = None) -> frozenset[str]:
    """The role's capabilities; ``grants`` (a tenant's ``privacy_grants`` setting,
    ``{role: [capability, ...]}``) decides which of ``GRANTABLE`` the roles below owner hold."""
    caps = ROLE_CAPABILITIES.get(role, frozenset())
    if role is None or role == Role.OWNER or role not in ROLE_CAPABILITIES:
        return caps
    chosen = DEFAULT_PRIVACY_GRANTS if grants is None else grants
    granted = frozenset(chosen.get(role, ())) & frozenset(GRANTABLE)
    return (caps - frozenset(GRANTABLE)) | granted


def role_rank(role: str | None) -> int:
    return ROLE_RANK.get(role, 0)


def tenant_privacy_grants(tenant) -> dict | None:
    """The tenant owners' choice of who holds ``unmask`` and ``sensitive`` (None: the defaults)."""
    if tenant is None or getattr(tenant, "schema_name", "public") == "public":
        return None
    grants = (tenant.settings or {}).get("privacy_grants")
    return grants if isinstance(grants, dict) else None
