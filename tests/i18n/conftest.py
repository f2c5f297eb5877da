import pytest
from django.utils.translation import trans_real

from cdp.catalogs import compile_catalogs


@pytest.fixture(scope="session", autouse=True)
def _compiled_catalogs():
    """``make setup`` compiles the catalogs; a bare ``pytest`` on a fresh checkout does it here."""
    if compile_catalogs():
        trans_real._translations = {}
        trans_real._default = None
