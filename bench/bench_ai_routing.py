"""What the AI mesh adds to a provider call, against a local fake OpenAI server (the real wire
format over loopback HTTP):

- direct: ``provider_complete`` to the fake (the baseline: HTTP + JSON in and out);
- routed: ``route_complete`` (candidates from the catalog, the key's per-minute counters in
  Redis, the key decrypted, its health written back) + the same call;
- full task: ``ai_complete`` (refusals, the license's quota, the prompt rendered, the task row,
  metering, audit entries) + the same call.

The target is the routing layer: routed minus direct under 5 ms per call (median). Runs in a
temporary tenant and removes its catalog rows afterwards. BENCH_AI_CALLS=300 by default.
"""

from __future__ import annotations

import os
import socketserver
import statistics
import time

CALLS = int(os.environ.get("BENCH_AI_CALLS", "300"))


def _timed(fn, calls: int) -> list[float]:
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _line(label: str, samples: list[float], base: list[float] | None = None) -> str:
    median = statistics.median(samples)
    p95 = sorted(samples)[int(len(samples) * 0.95) - 1]
    extra = f"  (+{median - statistics.median(base):.2f} ms over direct)" if base else "  baseline"
    return f"{label:<12} median {median:6.2f} ms  p95 {p95:6.2f} ms{extra}"


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp.settings.local")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from ai import store
    from ai.models import AiModel, MasterPrompt, Provider
    from ai.providers import ChatRequest, provider_complete
    from ai.selectors import policy_for
    from ai.services import ai_complete, prompt_save, provider_add, route_complete
    from cdp.context import Actor
    from licensing.models import License, UsageLog
    from licensing.services import license_issue
    from tenants.services import tenant_provision
    from tests.ai.fakes import KEY, FakeOpenAI, base_url

    # The fake answers with two writes (headers, body): without TCP_NODELAY the body waits for the
    # client's delayed ACK (~40 ms), which would drown what is measured here.
    socketserver.StreamRequestHandler.disable_nagle_algorithm = True
    settings.DEBUG = False
    call_command("migrate_schemas", "--shared", verbosity=0)
    actor = Actor.system("bench")
    fake = FakeOpenAI(answer="Bench answer.").start()
    name = f"bench-ai-{os.getpid()}"
    tenant = tenant_provision(slug=name, name="Bench AI", actor=actor)
    try:
        license_issue(tenant=tenant, plan_code="enterprise", actor=actor, custom_limits={"ai_requests_per_month": None})
        provider = provider_add(actor=actor, name=name, kind="openai", base_url=base_url(fake), api_key=KEY,
                                model="gpt-bench", input_cost_per_1k="0.15", output_cost_per_1k="0.6", priority=-1000)
        prompt_save(actor=actor, feature=name, template="Say {{ word }}", variables=["word"])
        policy = policy_for(tenant=tenant)
        request = ChatRequest(prompt="Say hello")

        def direct():
            provider_complete(kind="openai", base_url=base_url(fake), api_key=KEY, model="gpt-bench", request=request)

        def routed():
            outcome = route_complete(capability="chat", schema=None, policy=policy, request=request, attempts=[])
            assert outcome.model.provider_id == provider.pk

        direct(), routed()  # warm: connection pool, routing table

        def full():
            assert ai_complete(tenant=tenant, actor=actor, feature=name, variables={"word": "hi"}).status == "succeeded"

        print(f"{CALLS} calls each to a local fake OpenAI server (loopback HTTP):", flush=True)
        # direct and routed calls alternate, so that the machine's load weighs on both alike
        base, routed_samples = [], []
        for _ in range(CALLS):
            base.extend(_timed(direct, 1))
            routed_samples.extend(_timed(routed, 1))
        print(_line("direct", base), flush=True)
        print(_line("routed", routed_samples, base), flush=True)
        print(_line("full task", _timed(full, CALLS), base), flush=True)
    finally:
        fake.stop()
        connection.set_schema_to_public()
        MasterPrompt.objects.filter(feature=name).delete()
        UsageLog.objects.filter(tenant=tenant).delete()
        License.objects.filter(tenant=tenant).delete()
        tenant.delete(force_drop=True)  # its tasks and policy go with it
        AiModel.objects.filter(provider__name=name).delete()
        Provider.objects.filter(name=name).delete()
        store.clear_all()


if __name__ == "__main__":
    main()
