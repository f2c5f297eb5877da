"""Saved views of the customer list: a person names the filters and sort they use, and deletes
them. Each person's own (see ``CustomerListView``)."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict, PermissionDenied
from cdp.ids import get_or_not_found
from customers.codes import AuditAction, ErrorCode
from customers.models import CustomerListView
from customers.services.common import audit

#: Enough for how anyone works; a bound on what one person's clicks can store.
MAX_VIEWS_PER_PERSON = 50


def _person(actor: Actor) -> int:
    if actor.user_id is None:
        raise PermissionDenied(_("Only a person saves views of the customer list."))
    return actor.user_id


@transaction.atomic
def customer_view_save(*, actor: Actor, name: str, query: str) -> CustomerListView:
    """Save ``query`` (the list's filters and sort, already validated by the list's filter) under
    ``name`` for ``actor``; a name the person already uses is replaced (saving a view again)."""
    user_id = _person(actor)
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ApplicationError(_("Name the view (up to 80 characters)."), fields={"name": [_("Name the view.")]})
    if len(query) > 2000:
        raise ApplicationError(_("These filters are too long to save."), fields={"name": [_("Too long.")]})
    mine = CustomerListView.objects.select_for_update().filter(user_id=user_id)
    view = mine.filter(name=name).first()
    if view is None and mine.count() >= MAX_VIEWS_PER_PERSON:
        raise Conflict(_("You have %(n)s saved views: delete one first.") % {"n": MAX_VIEWS_PER_PERSON},
                       code=ErrorCode.VIEWS_TOO_MANY)
    if view is None:
        view = CustomerListView.objects.create(user_id=user_id, name=name, query=query)
    else:
        view.query = query
        view.save(update_fields=["query"])
    audit(actor=actor, action=AuditAction.CUSTOMER_VIEW_SAVE, resource_type="customer_list_view",
          resource_id=view.pk, changes={"name": name, "query": query})
    return view


@transaction.atomic
def customer_view_delete(*, actor: Actor, view_id) -> None:
    """Delete one of ``actor``'s own views (another person's is not found, not forbidden: its
    existence is not theirs to learn)."""
    view = get_or_not_found(CustomerListView.objects.filter(user_id=_person(actor)), view_id, _("No such view."),
                            lock=True)
    audit(actor=actor, action=AuditAction.CUSTOMER_VIEW_DELETE, resource_type="customer_list_view",
          resource_id=view.pk, changes={"name": view.name})
    view.delete()
