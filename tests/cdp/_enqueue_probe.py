"""A tasks module nothing imports: ``cdp.tasks.enqueue`` must find its task by name alone."""

from celery import shared_task

CALLS: list[int] = []


@shared_task
def probe_task(*, value: int) -> int:
    CALLS.append(value)
    return value
