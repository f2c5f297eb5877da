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
    settings.CDP_FORBID_OUTBOUND_IN_REQUESTS = True  # a provider called inside a web request fails the test


@pytest.fixture(autouse=True)
def _clean_redis():
    """Per-minute key counters and licensing's caches live in Redis, not rolled back with a test."""
    from ai import store
    from licensing import store as licensing_store

    store.clear_all()
    licensing_store.clear_all()
    yield
    store.clear_all()
    licensing_store.clear_all()


@pytest.fixture
def licensed(world):
    """``licensed(tenant=alpha, **custom_limits)``: an active license, so AI requests are metered."""
    from tests.licensing.factories import LicenseFactory

    def issue(tenant=None, **limits):
        return LicenseFactory(tenant=tenant or world.alpha, plan_code="starter", custom_limits=limits or None)

    return issue


@pytest.fixture
def mesh(fakes):
    """``mesh("openai", name=..., priority=..., price_in=..., price_out=..., **fake_kwargs)`` -> (provider,
    fake): a fake provider and its catalog rows (provider, one model, one key)."""
    from ai.services import provider_add
    from tests.ai.fakes import KEY, base_url
    from tests.ai.factories import ACTOR

    def add(kind, *, name=None, priority=100, price_in="0.5", price_out="1.5", model=None, capabilities=("chat", "json"),
            rpm_limit=None, **fake_kwargs):
        fake = fakes(kind, **fake_kwargs)
        provider = provider_add(actor=ACTOR, name=name or kind, kind=kind, base_url=base_url(fake),
                                api_key=KEY if kind != "ollama" else "", model=model or f"{kind}-model",
                                input_cost_per_1k=price_in, output_cost_per_1k=price_out, priority=priority,
                                capabilities=capabilities, rpm_limit=rpm_limit)
        return provider, fake

    return add
