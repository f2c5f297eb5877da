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



def test_a_tenant_import_warns_when_the_target_holds_another_identity_key():
    from cdp.ops import tenant_move
    from cdp.ops.backup import fingerprint

    # given licensing's signing key, registered in its AppConfig.ready (cdp imports no app)
    keys = {name: (key, mismatch) for name, key, mismatch in registry.identity_keys()}
    assert list(keys) == ["license_signing"]
    ours = {name: fingerprint(key()) for name, (key, _mismatch) in keys.items()}

    # when the export came from a cluster with the same key, nothing is said
    assert tenant_move.identity_key_warnings({"identity_keys": ours}) == []
    # when it differs, licensing's warning
    assert tenant_move.identity_key_warnings({"identity_keys": {"license_signing": "0" * 16}}) == [
        keys["license_signing"][1]]
    assert "CDP_LICENSE_SIGNING_KEY" in keys["license_signing"][1]
    # an export written before the hooks named the signing key in a field of its own
    assert len(tenant_move.identity_key_warnings({"license_signing_public_key": "0" * 16})) == 1
    assert tenant_move.identity_key_warnings({"license_signing_public_key": ours["license_signing"]}) == []
