"""Recovery (seed 003 "Recovery: ability to reverse unwanted changes"): put back the value a
logged change replaced, for one change or for every change one source made after a date.

A revert is a person's edit like any other: it goes through ``customer_update`` (the same
normalization, uniqueness, field-level permissions and pseudonymization guard), is itself written
to the change log (source ``manual``, reason "revert of change #N") and audited. It never writes
what the rules of unification forbid:
- empty never overwrites: a change whose previous value was empty is not reverted (that would
  erase data; clear the field by an explicit edit if that is really meant);
- a change superseded since (the field no longer holds the value the change wrote) is not
  reverted: that would silently undo the later change too;
- a pseudonymized (erased) customer is never reverted back into personal data.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils.translation import gettext as _

from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict
from cdp.ids import get_or_not_found
from customers.codes import AuditAction, ErrorCode
from customers.models import Customer, CustomerChangeLog
from customers.services.common import as_text, empty, from_text
from customers.services.profile import MANUAL_ONLY_FIELDS, PROFILE_FIELDS, customer_update
from tenants.services import audit_record

#: Fields whose logged text can be put back as it was (lists and objects are not logged
#: losslessly: ``tags`` and ``metadata`` are edited, not reverted).
REVERTIBLE_FIELDS = tuple(f for f in (*PROFILE_FIELDS, *MANUAL_ONLY_FIELDS) if f not in ("tags", "metadata"))
#: How many (customer, field) pairs one source revert may touch: a larger one is narrowed by date.
MAX_SOURCE_REVERT = 10_000


def _value_for(field_name: str, text: str | None):
    # Booleans were logged as "True"/"False"; the manual normalizers read the other fields' text.
    if field_name == "marketing_consent":
        return from_text(Customer, field_name, text)
    return text


def _refusal(change: CustomerChangeLog, customer: Customer) -> ApplicationError | None:
    """Why ``change`` may not be reverted now (None: it may)."""
    if customer.is_pseudonymized:
        return Conflict(_("This customer was pseudonymized: its data cannot be brought back."),
                        code=ErrorCode.CUSTOMER_PSEUDONYMIZED)
    if change.field not in REVERTIBLE_FIELDS:
        return ApplicationError(_("Changes to this field cannot be reverted."), code=ErrorCode.REVERT_INVALID,
                                fields={"field": [_("Not revertible: %(field)s.") % {"field": change.field}]})
    if as_text(getattr(customer, change.field)) != change.new_value:
        return Conflict(_("The field was changed again since; revert the later change first."),
                        code=ErrorCode.CHANGE_SUPERSEDED)
    if empty(change.old_value):
        return ApplicationError(_("The previous value was empty, and empty values never overwrite data."),
                                code=ErrorCode.REVERT_TO_EMPTY,
                                fields={change.field: [_("The value before this change was empty.")]})
    return None


@transaction.atomic
def change_revert(*, change_id, actor: Actor, reason: str = "") -> Customer:
    """Put back the value that change ``change_id`` replaced, through ``customer_update``.
    Refused (nothing written) when the customer is pseudonymized (409), the field changed again
    since (409), the previous value was empty or the field is not revertible (400)."""
    change = get_or_not_found(CustomerChangeLog, change_id, _("No such change."))
    customer = get_or_not_found(Customer, change.customer_id, _("Customer not found."), lock=True)
    refusal = _refusal(change, customer)
    if refusal is not None:
        raise refusal
    why = f"revert of change #{change.pk}" + (f": {reason}" if reason else "")
    return customer_update(customer_id=customer.pk, data={change.field: _value_for(change.field, change.old_value)},
                           actor=actor, reason=why[:255])


@dataclass
class SourceRevertReport:
    source: str
    since: datetime.datetime
    dry_run: bool
    reverted: list[dict] = field(default_factory=list)  # {customer_id, field, change_id}
    skipped: list[dict] = field(default_factory=list)  # {customer_id, field, change_id, code, message}

    def as_dict(self) -> dict:
        return {"source": self.source, "since": self.since.isoformat(), "dry_run": self.dry_run,
                "reverted": len(self.reverted), "skipped": len(self.skipped),
                "changes": self.reverted, "skipped_changes": self.skipped}


def source_changes_revert(*, source: str, since: datetime.datetime, actor: Actor, reason: str = "",
                          dry_run: bool = False) -> SourceRevertReport:
    """Undo everything ``source`` changed from ``since`` on: each (customer, field) goes back to
    the value before the source's first change in the period, when the field still holds what the
    source's last change wrote. Each customer is reverted in its own transaction (one refusal does
    not stop the others) and listed as reverted or skipped with the reason. ``dry_run`` reports
    without writing. One audit entry sums the run up."""
    errors = {}
    source = (source or "").strip().lower()
    if not source:
        errors["source"] = [_("Name the source whose changes to revert.")]
    if not isinstance(since, datetime.datetime):
        errors["since"] = [_("A date and time (ISO 8601).")]
    if errors:
        raise ApplicationError(_("Invalid revert request."), code=ErrorCode.REVERT_INVALID, fields=errors)
    changes = (CustomerChangeLog.objects.filter(source=source, created_at__gte=since)
               .order_by("customer_id", "field", "created_at", "id"))
    groups: dict[tuple[int, str], list[CustomerChangeLog]] = {}
    for change in changes.iterator(chunk_size=2000):
        groups.setdefault((change.customer_id, change.field), []).append(change)
        if len(groups) > MAX_SOURCE_REVERT:
            raise ApplicationError(_("Too many changes to revert at once."), code=ErrorCode.REVERT_INVALID,
                                   fields={"since": [_("More than %(n)s fields changed: choose a later date.")
                                                     % {"n": MAX_SOURCE_REVERT}]})
    report = SourceRevertReport(source=source, since=since, dry_run=dry_run)
    by_customer: dict[int, list[tuple[str, CustomerChangeLog, CustomerChangeLog]]] = {}
    for (customer_id, field_name), rows in groups.items():
        by_customer.setdefault(customer_id, []).append((field_name, rows[0], rows[-1]))
    for customer_id, fields in by_customer.items():
        _revert_customer(customer_id, fields, report=report, actor=actor, reason=reason, dry_run=dry_run)
    if not dry_run:
        audit_record(actor=actor, action=AuditAction.CUSTOMER_REVERT_SOURCE, resource_type="source",
                     resource_id=source[:64], tenant=connection.tenant,
                     changes={"since": since.isoformat(), "reverted": len(report.reverted),
                              "skipped": len(report.skipped)})
    return report


def _revert_customer(customer_id, fields, *, report: SourceRevertReport, actor: Actor, reason: str,
                     dry_run: bool) -> None:
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        data, done = {}, []
        for field_name, first, last in fields:
            # The value before the source's first change, if the field still holds its last one.
            probe = CustomerChangeLog(customer_id=customer_id, field=field_name, old_value=first.old_value,
                                      new_value=last.new_value)
            refusal = _refusal(probe, customer)
            row = {"customer_id": customer_id, "field": field_name, "change_id": first.pk}
            if refusal is not None:
                report.skipped.append({**row, "code": refusal.code, "message": refusal.message})
                continue
            data[field_name] = _value_for(field_name, first.old_value)
            done.append(row)
        if not data:
            return
        if dry_run:
            report.reverted.extend(done)
            return
        why = f"revert of source {report.source} since {report.since.isoformat()}" + (f": {reason}" if reason else "")
        try:
            with transaction.atomic():
                customer_update(customer_id=customer_id, data=data, actor=actor, reason=why[:255])
        except ApplicationError as exc:
            report.skipped.extend({**row, "code": exc.code, "message": exc.as_text()} for row in done)
            return
        report.reverted.extend(done)
