"""Fixtures more than one test package uses, defined once; each package's conftest imports the
ones it needs (tests/conftest.py, the root, is where they belong once it takes them in)."""

import pytest

from cdp.context import Actor


@pytest.fixture
def actor():
    """The actor of writes a test makes through services."""
    return Actor.system("tests")
