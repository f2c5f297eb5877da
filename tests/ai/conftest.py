from __future__ import annotations

import pytest

from tests.ai.fakes import FAKES


@pytest.fixture
def fakes():
    """``fakes("openai", **kwargs)`` -> a started fake of that provider, stopped after the test."""
    started = []

    def start(kind, **kwargs):
        fake = FAKES[kind](**kwargs).start()
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.stop()


@pytest.fixture(autouse=True)
def _fast_ai(settings):
    settings.AI_HTTP_DEADLINE = 2.0
    settings.AI_HTTP_TIMEOUT = 2.0
