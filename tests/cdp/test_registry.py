"""``cdp.registry``: hooks lower apps offer to higher ones."""

from __future__ import annotations

import pytest

from cdp import registry
from cdp.exceptions import QuotaExceeded


def refuse(resource, *, tenant, adding):
    raise QuotaExceeded(f"No more {resource}.")


def test_quota_guards_are_off_inside_the_block_and_back_after_it():
    with registry.quota_guards_disabled():  # the registered guards (licensing's) stay out of this test
        registry.register_quota_guard(refuse)
        with pytest.raises(QuotaExceeded):
            registry.quota_check("customers", tenant=None, adding=1)
        with registry.quota_guards_disabled():
            registry.quota_check("customers", tenant=None, adding=1)  # no guard runs
        with pytest.raises(QuotaExceeded):
            registry.quota_check("customers", tenant=None, adding=1)
        with pytest.raises(RuntimeError), registry.quota_guards_disabled():
            raise RuntimeError("the guards come back after an error too")
        with pytest.raises(QuotaExceeded):
            registry.quota_check("customers", tenant=None, adding=1)
