"""What each role and each API key scope may do.

Capabilities are the single vocabulary the API and the portal check: a membership's role grants
a fixed set; an API key grants exactly its scopes.
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

CAPABILITIES = (READ, WRITE, ANALYTICS, INTEGRATIONS, KEYS, BILLING, SECURITY)
DEFAULT_KEY_SCOPES = (READ, WRITE)

ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.VIEWER: frozenset({READ}),
    Role.ANALYST: frozenset({READ, ANALYTICS}),
    Role.ADMIN: frozenset({READ, WRITE, ANALYTICS, INTEGRATIONS, KEYS, SECURITY}),
    Role.OWNER: frozenset(CAPABILITIES),
}


def capabilities_for_role(role: str | None) -> frozenset[str]:
    return ROLE_CAPABILITIES.get(role, frozenset())
