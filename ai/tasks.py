"""Thin Celery entry points: ids in, a service call, nothing else."""

from __future__ import annotations

from celery import shared_task

from ai.services import ai_task_run


# No automatic retry: the router already tried every candidate; a second run would meter twice.
# The hard limit stays above AI_MAX_ATTEMPTS × AI_HTTP_DEADLINE (3 × 90 s by default).
@shared_task(acks_late=True, soft_time_limit=330, time_limit=360)
def ai_task_run_task(*, task_id: int) -> None:
    ai_task_run(task_id=task_id)
