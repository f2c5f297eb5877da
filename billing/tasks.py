"""Thin Celery entry points (public schema): ids in, a service call, nothing else."""

from __future__ import annotations

from celery import shared_task

from billing.services import billing_cycle_run, idempotency_prune, payments_reconcile
from billing.services.notifications import billing_notify
from cdp.context import Actor


@shared_task(acks_late=True, time_limit=1800)
def billing_cycle_task() -> dict:
    """Renew due subscriptions and advance dunning (scheduled in cdp/schedules.py)."""
    return billing_cycle_run(actor=Actor.system("billing-cycle"))


@shared_task(bind=True, acks_late=True, max_retries=5, retry_backoff=True)
def billing_notify_task(self, *, subscription_id: int, kind: str) -> int:
    """Tell the owners about a renewal failure, a suspension, a cancellation or a recovery
    (enqueued by name once the subscription's change commits)."""
    return billing_notify(subscription_id=subscription_id, kind=kind)


@shared_task(acks_late=True, time_limit=600)
def payments_reconcile_task() -> dict:
    """Finish payments left half-way: complete the order or refund the charge (cdp/schedules.py)."""
    return payments_reconcile(actor=Actor.system("payments-reconciler"))


@shared_task(acks_late=True, time_limit=600)
def idempotency_prune_task() -> int:
    """Forget Idempotency-Keys past their retention (scheduled in cdp/schedules.py)."""
    return idempotency_prune()
