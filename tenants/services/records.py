"""Plain records written with their audit entry, one way: for the tables whose only rules are
their model's own validation (a tenant's hosts, feature flags, system settings, billing's catalog).

Each write validates the model (``full_clean``: field errors, uniqueness), writes, and appends an
audit entry in the same transaction, with the changes as ``changes_between`` (``{field: [old,
new]}``; ``[None, new]`` for a creation, ``[old, None]`` for a deletion). Related rows are written
as their text (``str(row)``), many-to-many fields as the sorted texts of their rows.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models, transaction

from cdp.context import Actor
from cdp.exceptions import ApplicationError, full_clean_or_raise
from cdp.ids import get_or_not_found
from tenants.models import Tenant
from tenants.services.audit import audit_record, changes_between


def _many_to_many(model: type[models.Model], names: Iterable[str]) -> set[str]:
    return {name for name in names if model._meta.get_field(name).many_to_many}


def _shown(value):
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, (models.QuerySet, list, tuple, set)):
        return sorted(str(row) for row in value)
    return value


def record_values(instance: models.Model, names: Iterable[str]) -> dict:
    """``instance``'s ``names`` as an audit entry quotes them."""
    values = {}
    for name in names:
        value = getattr(instance, name)
        if instance._meta.get_field(name).many_to_many:
            value = value.all() if instance.pk else []
        values[name] = _shown(value)
    return values


def record_create(model: type[models.Model], *, fields: dict, actor: Actor, action: str, resource_type: str,
                  tenant: Tenant | None = None, message: str = "The record could not be saved.") -> models.Model:
    """Create a ``model`` row from ``fields`` (many-to-many ones included) and audit it."""
    related = _many_to_many(model, fields)
    instance = model(**{name: value for name, value in fields.items() if name not in related})
    full_clean_or_raise(instance, message)
    with transaction.atomic():
        instance.save()
        for name in related:
            getattr(instance, name).set(fields[name])
        audit_record(actor=actor, action=action, resource_type=resource_type, resource_id=instance.pk,
                     tenant=tenant, changes=changes_between({}, record_values(instance, fields)))
    return instance


def record_update(instance: models.Model, *, fields: dict, editable: Iterable[str], actor: Actor, action: str,
                  resource_type: str, tenant: Tenant | None = None,
                  message: str = "The record could not be saved.") -> models.Model:
    """Change ``fields`` (each one of ``editable``) of ``instance``'s row, locked; audited when
    something changed. Returns the row as saved."""
    unknown = set(fields) - set(editable)
    if unknown:
        raise ApplicationError("Unknown fields.", fields={name: ["Not editable."] for name in sorted(unknown)})
    model = type(instance)
    related = _many_to_many(model, fields)
    with transaction.atomic():
        locked = get_or_not_found(model, instance.pk, f"No such {model._meta.verbose_name}.", lock=True)
        before = record_values(locked, fields)
        for name, value in fields.items():
            if name not in related:
                setattr(locked, name, value)
        full_clean_or_raise(locked, message)
        after = {**record_values(locked, set(fields) - related),
                 **{name: _shown(fields[name]) for name in related}}
        changes = changes_between(before, after)
        if changes:
            locked.save()
            for name in related:
                getattr(locked, name).set(fields[name])
            audit_record(actor=actor, action=action, resource_type=resource_type, resource_id=locked.pk,
                         tenant=tenant, changes=changes)
    return locked


def record_delete(instance: models.Model, *, describe: Iterable[str], actor: Actor, action: str,
                  resource_type: str, tenant: Tenant | None = None) -> None:
    """Delete ``instance``'s row; the audit entry keeps its ``describe`` fields."""
    model = type(instance)
    with transaction.atomic():
        locked = get_or_not_found(model, instance.pk, f"No such {model._meta.verbose_name}.", lock=True)
        audit_record(actor=actor, action=action, resource_type=resource_type, resource_id=locked.pk,
                     tenant=tenant, changes=changes_between(record_values(locked, describe), {}))
        locked.delete()
