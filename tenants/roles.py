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

CAPABILITIES = (READ, WRITE, ANALYTICS, INTEGRATIONS, KEYS, BILLING)
DEFAULT_KEY_SCOPES = (READ, WRITE)

ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.VIEWER: frozenset({READ}),
    Role.ANALYST: frozenset({READ, ANALYTICS}),
    Role.ADMIN: frozenset({READ, WRITE, ANALYTICS, INTEGRATIONS, KEYS}),
    Role.OWNER: frozenset(CAPABILITIES),
}


def capabilities_for_role(role: str | None) -> frozenset[str]:
    return ROLE_CAPABILITIES.get(role, frozenset())
