"""Soft delete where people delete (segments, integrations, webhook endpoints): a deleted row is
hidden everywhere (lists, API, tasks: the default manager leaves it out), restorable for
``CDP_RESTORE_DAYS`` days (30) from the admin and the portal, then purged by a daily task.

Built on django-safedelete (maintained, made for this): ``Model.objects`` returns the rows not
deleted, ``all_objects`` every row, ``deleted_objects`` the deleted ones; ``row.delete()`` stamps
``deleted_at``; the purge hard-deletes with ``force_policy=HARD_DELETE``. Each app's services
write the audit entries (delete, restore, purge), as for any write.

Unique names: a deleted row must not block a new one with its name, so uniqueness is declared
with ``alive_unique`` (a constraint over the rows not deleted); restoring a row whose name was
taken meanwhile is a ``Conflict`` the service raises.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib import admin
from django.db import models
from django.utils import timezone
from safedelete import HARD_DELETE
from safedelete.models import SafeDeleteModel

RESTORE_DAYS_DEFAULT = 30


def restore_days() -> int:
    return int(getattr(settings, "CDP_RESTORE_DAYS", RESTORE_DAYS_DEFAULT))


def purge_before(now: datetime.datetime | None = None) -> datetime.datetime:
    """Rows deleted before this moment are past restoring and are purged."""
    return (now or timezone.now()) - datetime.timedelta(days=restore_days())


class SoftDeleteModel(SafeDeleteModel):
    """``deleted_at`` (django-safedelete's field, named by ``SAFE_DELETE_FIELD_NAME``) and its managers."""

    # No cascading soft delete: the rows hanging off a deleted one stay as they are, hidden with it.
    deleted_by_cascade = None

    class Meta:
        abstract = True

    @property
    def restorable_until(self) -> datetime.datetime | None:
        deleted = getattr(self, "deleted_at", None)
        return deleted + datetime.timedelta(days=restore_days()) if deleted else None


def alive_unique(*fields: str, name: str) -> models.UniqueConstraint:
    """Unique among the rows not deleted."""
    return models.UniqueConstraint(fields=list(fields), condition=models.Q(deleted_at__isnull=True), name=name)


def restorable(model: type[SoftDeleteModel], now: datetime.datetime | None = None) -> models.QuerySet:
    """Deleted rows still within the restore window, newest deletion first."""
    return model.deleted_objects.filter(deleted_at__gte=purge_before(now)).order_by("-deleted_at", "-pk")


def purge_due(model: type[SoftDeleteModel], now: datetime.datetime | None = None) -> models.QuerySet:
    return model.deleted_objects.filter(deleted_at__lt=purge_before(now)).order_by("pk")


def hard_delete(row: SoftDeleteModel) -> None:
    row.delete(force_policy=HARD_DELETE)


class DeletedFilter(admin.SimpleListFilter):
    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return (("no", "Not deleted"), ("yes", "Deleted (restorable)"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "no" or self.value() is None:
            return queryset.filter(deleted_at__isnull=True)
        return queryset


class SoftDeleteAdminMixin:
    """An admin that lists deleted rows under the "Deleted" filter (the rest by default) and
    restores them with an action calling ``service_restore(request, obj)`` (errors per row)."""

    def get_queryset(self, request):
        return self.model.all_objects.get_queryset()

    def get_list_filter(self, request):
        return (DeletedFilter, *super().get_list_filter(request))
