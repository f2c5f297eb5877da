"""A lost password on a development machine: ``manage.py reset_password`` (``make reset-password``)."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from cdp.context import Actor
from cdp.exceptions import ApplicationError, NotFound
from tenants.models import User
from tenants.services.memberships import user_password_set
from tenants.services.sessions import user_sessions_revoke_for_user


@transaction.atomic
def user_password_reset(*, email: str, password: str, actor: Actor) -> User:
    """Give ``email``'s account ``password`` (validated like any other; audited by
    ``user_password_set``, without the password) and sign out its sessions: whoever had the old
    password is out."""
    user = User.objects.filter(email__iexact=(email or "").strip()).first()
    if user is None:
        raise NotFound(f"No account with the e-mail '{email}'.")
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ApplicationError("That password is refused.", fields={"password": exc.messages}) from exc
    user = user_password_set(user=user, password=password, actor=actor)
    user_sessions_revoke_for_user(user_id=user.pk, actor=actor)
    return user
