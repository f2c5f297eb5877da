"""``cdp.registry.quota_guards_disabled``: tests outside licensing switch plan quotas off without
touching the registry's private list."""

import pytest

from cdp import registry
from cdp.exceptions import QuotaExceeded


def test_no_guard_runs_inside_the_block_and_every_guard_is_back_after_it():
    def refuse(resource, *, tenant, adding):
        raise QuotaExceeded("No more.")

    with registry.quota_guards_disabled():  # the outer block puts the real guards back at the end
        registry.register_quota_guard(refuse)
        with registry.quota_guards_disabled():
            registry.quota_check("customers", tenant=None, adding=1)  # nothing refuses
        with pytest.raises(QuotaExceeded):
            registry.quota_check("customers", tenant=None, adding=1)
