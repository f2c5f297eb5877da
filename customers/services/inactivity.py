"""Inactivity policy (issue #21 item 5, seed 003 "records inactive for long periods can be
anonymized by internal policy"): customers with no purchase for N months (and, with no purchase
ever, created N months ago or more) are pseudonymized, with a preview of who would be, a dry run,
and a report afterwards.

The tenant chooses N in ``Tenant.settings["inactivity_months"]`` (absent: the policy is off); the
command ``pseudonymize_inactive`` and the API run it, and beat runs it nightly for the tenants whose
owners turned on ``Tenant.settings["inactivity_auto"]`` (off by default: erasure is irreversible,
so nobody gets it by upgrading). Each customer goes through
``customer_pseudonymize`` (the same irreversible erasure a person's request gets), in its own
transaction, so one refusal does not stop the rest.

Not covered: "no login". Customers sign in only on the loyalty member page, which is moving to its
own app; until it reports sign-ins through a registry, activity means purchases.
"""

from __future__ import annotations

import datetime

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cdp.context import Actor
from cdp.exceptions import ApplicationError
from customers.codes import AuditAction, ErrorCode
from customers.models import Customer
from customers.services.privacy import customer_pseudonymize
from tenants.services import audit_record

MAX_MONTHS = 1200
#: Customers one run pseudonymizes at most (the next run continues).
MAX_PER_RUN = 10_000


def inactivity_months(*, tenant, months=None) -> int:
    """``months`` if given, else the tenant's ``inactivity_months``; a field error if neither is a
    whole number from 1 to 1200."""
    value = months if months is not None else (getattr(tenant, "settings", None) or {}).get("inactivity_months")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_MONTHS:
        raise ApplicationError(_("Choose the inactivity period."), code=ErrorCode.INACTIVITY_INVALID,
                               fields={"months": [_("A whole number of months from 1 to %(max)s (or set the "
                                                    "tenant's inactivity_months).") % {"max": MAX_MONTHS}]})
    return value


def inactivity_cutoff(months: int, *, now: datetime.datetime | None = None) -> datetime.datetime:
    return (now or timezone.now()) - datetime.timedelta(days=round(months * 30.44))


def inactive_customers(*, cutoff: datetime.datetime) -> QuerySet[Customer]:
    """Customers not yet pseudonymized nor merged away whose last purchase (or, never having
    bought, their creation) is before ``cutoff``; oldest activity first."""
    return (Customer.objects.filter(is_pseudonymized=False, merged_into__isnull=True)
            .exclude(status=Customer.Status.MERGED)
            .filter(Q(last_purchase_at__lt=cutoff) | Q(last_purchase_at__isnull=True, created_at__lt=cutoff))
            .order_by("last_purchase_at", "created_at", "id"))


def inactive_customers_pseudonymize(*, tenant, actor: Actor, months=None, dry_run: bool = False,
                                    limit: int = MAX_PER_RUN) -> dict:
    """Pseudonymize the inactive customers (at most ``limit``); ``dry_run`` only counts and lists
    them. Returns the report: months, cutoff, candidates, pseudonymized ids, refusals. A real run
    writes one audit entry with the counts (each erasure audits itself too)."""
    months = inactivity_months(tenant=tenant, months=months)
    cutoff = inactivity_cutoff(months)
    candidates = inactive_customers(cutoff=cutoff)
    ids = list(candidates.values_list("pk", flat=True)[:limit])
    report = {"months": months, "cutoff": cutoff.isoformat(), "dry_run": dry_run, "candidates": len(ids),
              "pseudonymized": [], "refused": []}
    if dry_run:
        report["customer_ids"] = ids
        return report
    for customer_id in ids:
        try:
            customer_pseudonymize(customer_id=customer_id, actor=actor,
                                  reason=f"inactivity policy: no activity for {months} months")
            report["pseudonymized"].append(customer_id)
        except ApplicationError as exc:
            report["refused"].append({"customer_id": customer_id, "code": exc.code, "message": exc.as_text()})
    audit_record(actor=actor, action=AuditAction.CUSTOMERS_INACTIVITY_PSEUDONYMIZE, resource_type="customer",
                 resource_id="", tenant=connection.tenant,
                 changes={"months": months, "cutoff": report["cutoff"], "pseudonymized": len(report["pseudonymized"]),
                          "refused": len(report["refused"])})
    return report


#: The actor of the nightly run (the audit trail and the change log name it).
SCHEDULED_ACTOR = Actor.system("schedule:inactivity-pseudonymize")


def inactivity_policy_run(*, tenant) -> dict | None:
    """The nightly run for ``tenant``: pseudonymize its inactive customers when its owners turned
    on ``inactivity_auto`` (with ``inactivity_months``); None, touching nothing, otherwise. At most
    MAX_PER_RUN customers a night (the next night continues)."""
    settings = getattr(tenant, "settings", None) or {}
    if settings.get("inactivity_auto") is not True or settings.get("inactivity_months") is None:
        return None
    return inactive_customers_pseudonymize(tenant=tenant, actor=SCHEDULED_ACTOR)
