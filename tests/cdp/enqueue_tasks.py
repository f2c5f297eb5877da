"""A tasks module no application code imports (``tests/cdp/test_enqueue.py``)."""

from celery import shared_task


@shared_task
def echo_task(*, value: int) -> int:
    return value
