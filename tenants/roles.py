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

CAPABILITIES = (READ, WRITE, ANALYTICS, INTEGRATIONS, KEYS, BILLING, SECURITY, CREDIT, AUDIT, MEMBERS, EXPORT,
                LOYALTY, SALES)
DEFAULT_KEY_SCOPES = (READ, WRITE)

ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.VIEWER: frozenset({READ}),
    Role.ANALYST: frozenset({READ, ANALYTICS}),
    Role.ADMIN: frozenset({READ, WRITE, ANALYTICS, INTEGRATIONS, KEYS, SECURITY, AUDIT, MEMBERS, CREDIT, EXPORT,
                           LOYALTY, SALES}),
    Role.OWNER: frozenset(CAPABILITIES),
}

#: Higher outranks lower. Owners are the top of a tenant: only they grant or take away the owner
#: and admin roles; below them, nobody changes a member whose role is at or above their own, nor
#: grants a role at or above their own.
ROLE_RANK: dict[str, int] = {Role.VIEWER: 1, Role.ANALYST: 2, Role.ADMIN: 3, Role.OWNER: 4}
#: Platform operators (superusers, staff holding the model permission) and system actors
#: (commands, tasks) stand above every tenant role.
PLATFORM_RANK = 100


def capabilities_for_role(role: str | None) -> frozenset[str]:
    return ROLE_CAPABILITIES.get(role, frozenset())


def role_rank(role: str | None) -> int:
    return ROLE_RANK.get(role, 0)
