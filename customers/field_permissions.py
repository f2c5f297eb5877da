"""Field-level permissions for the most sensitive profile fields (issue #21 item 2): document
(type and number), birth date and notes.

- Read: only a reader holding ``sensitive`` sees them; for anyone else every interface shows them
  empty (``customers.masking``: the serializers, the portal, the admin, the exports).
- Change: only an actor holding ``sensitive`` (and, as for any edit, ``write``) may change them. The
  check is in the profile service itself, derived from the actor (its key's scopes, its member's
  role, the tenant owners' grants), so that no interface can forget it; a refused change is a
  field error (400) on each field, and nothing is written: never a silent drop.

Which roles hold ``sensitive`` is the owners' choice per tenant (``tenants.services.privacy``);
by default owners and admins. System actors (ingest, imports, commands) hold everything.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _

from cdp.context import Actor
from cdp.exceptions import ApplicationError
from customers.codes import ErrorCode
from customers.masking import SENSITIVE_FIELDS
from tenants.roles import SENSITIVE
from tenants.services.authz import actor_authority


def sensitive_changes_check(*, actor: Actor, fields: Iterable[str], tenant) -> None:
    """Refuse (field errors, code ``field_forbidden``) changes to sensitive fields by an actor
    without ``sensitive``. Costs a query only when a sensitive field actually changes."""
    touched = [field for field in fields if field in SENSITIVE_FIELDS]
    if not touched:
        return
    if SENSITIVE in actor_authority(actor=actor, tenant=tenant).capabilities:
        return
    raise ApplicationError(
        _("You may not change these fields."), code=ErrorCode.FIELD_FORBIDDEN,
        fields={field: [_("Your role may not change this field.")] for field in touched})
