"""Setting a person's password from the command line (a lost password on a development machine)."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from cdp.context import Actor
from cdp.exceptions import ApplicationError, NotFound
from tenants.models import User
from tenants.services.audit import audit_record
from tenants.services.sessions import user_sessions_revoke_for_user


@transaction.atomic
def user_password_set(*, email: str, password: str, actor: Actor) -> User:
    """Give ``email``'s account ``password`` (validated like any other), sign out its sessions
    (whoever had the old password is out) and audit it. The password is never recorded."""
    user = User.objects.select_for_update().filter(email__iexact=(email or "").strip()).first()
    if user is None:
        raise NotFound(f"No account with the e-mail '{email}'.")
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ApplicationError("That password is refused.", fields={"password": exc.messages}) from exc
    user.set_password(password)
    user.save(update_fields=["password"])
    user_sessions_revoke_for_user(user_id=user.pk, actor=actor)
    audit_record(actor=actor, action="user.password_set", resource_type="user", resource_id=user.pk,
                 changes={"password": ["(hidden)", "(hidden)"]})
    return user
