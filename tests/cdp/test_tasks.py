"""``cdp.tasks``: a task is enqueued by its name, even from a process that never imported its module
(a web process or a command: only workers run Celery's autodiscovery)."""

import sys

from cdp.tasks import enqueue


def test_a_task_whose_module_was_never_imported_is_found_by_its_name():
    assert "tests.cdp.enqueued_tasks" not in sys.modules
    result = enqueue("tests.cdp.enqueued_tasks.double_task", value=21)  # eager in tests
    assert result.get() == 42
