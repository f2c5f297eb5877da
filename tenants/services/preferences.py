"""A person's own preferences (today: the language the portal speaks to them)."""

from __future__ import annotations

from django.conf import settings as django_settings
from django.db import transaction
from django.utils.translation import gettext as _

from cdp.context import Actor
from cdp.exceptions import ApplicationError
from tenants.codes import AuditAction, ErrorCode
from tenants.models import User
from tenants.services.audit import audit_record, changes_between


def language_choices() -> list[str]:
    """The language codes a person may choose ("" = the organization's language)."""
    return ["", *(code for code, _name in django_settings.LANGUAGES)]


@transaction.atomic
def user_language_set(*, user: User, language: str, actor: Actor) -> User:
    """Store ``user``'s language ("" = follow the tenant's); an unknown code is a field error."""
    language = (language or "").strip().lower().replace("_", "-")
    if language not in language_choices():
        raise ApplicationError(
            _("Unknown language."), code=ErrorCode.LANGUAGE_INVALID,
            fields={"language": [_("Choose one of: %(codes)s.") % {"codes": ", ".join(filter(None, language_choices()))}]},
        )
    if user.language == language:
        return user
    before = {"language": user.language}
    user.language = language
    user.save(update_fields=["language"])
    audit_record(actor=actor, action=AuditAction.USER_LANGUAGE_SET, resource_type="user", resource_id=user.pk,
                 changes=changes_between(before, {"language": language}))
    return user
