"""``cdp.tasks.enqueue``: a task is found by its dotted name even when its module was never imported
(web processes and tests do not run Celery's autodiscovery; only workers do)."""

import sys

from cdp.tasks import enqueue


def test_a_task_whose_module_was_never_imported_is_found_by_its_name():
    assert "tests.cdp._enqueue_probe" not in sys.modules
    enqueue("tests.cdp._enqueue_probe.probe_task", value=7)
    assert sys.modules["tests.cdp._enqueue_probe"].CALLS == [7]
