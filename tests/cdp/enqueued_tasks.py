"""A tasks module nothing imports: ``cdp.tasks.enqueue`` must find its task by name alone."""

from celery import shared_task


@shared_task
def double_task(*, value: int) -> int:
    return value * 2
