"""License validation under concurrent load, beside the same server's /healthz.

Starts the real app (gunicorn, ``cdp.settings.local``, the embedded PostgreSQL and Redis of
``CDP_DATA_DIR``) on a free loopback port, issues a license to a ``bench`` tenant, then drives
each endpoint with the same number of keep-alive client threads for the same time and prints
requests/s and latency percentiles side by side. Target: validation at least half the
throughput of /healthz, p99 under 20 ms.

Knobs (environment): BENCH_SECONDS (5), BENCH_THREADS (4, twice the CPUs of the machine it was
tuned on), BENCH_WEB_WORKERS (2), BENCH_WEB_THREADS (4), BENCH_MAX_REQUESTS (60000 per endpoint).
The server is started with rate limits raised far above the load, since the bench measures
validation, not refusal. Each run issues one new license to the ``bench`` tenant.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import HOST, drive, free_port, stop, wait_healthy  # noqa: E402


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _setup() -> str:
    """Migrate the shared schema, ensure the public host and a bench tenant; return a fresh key."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp.settings.local")
    import django

    django.setup()
    from django.core.management import call_command

    from cdp.context import Actor
    from licensing.services import license_issue
    from tenants.models import Domain, Tenant
    from tenants.services import tenant_provision

    call_command("migrate_schemas", "--shared", verbosity=0)
    public, _ = Tenant.objects.get_or_create(schema_name="public", defaults={"name": "CDP platform",
                                                                             "slug": "platform"})
    Domain.objects.get_or_create(domain="localhost", defaults={"tenant": public, "is_primary": True})
    actor = Actor.system("bench")
    tenant = Tenant.objects.filter(slug="bench").first() or tenant_provision(slug="bench", name="Bench", actor=actor)
    return license_issue(tenant=tenant, plan_code="enterprise", max_machines=1000, actor=actor).key


def _start_server(port: int) -> subprocess.Popen:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="cdp.settings.local",
               CDP_LICENSE_RATE_PER_KEY="100000000/min", CDP_LICENSE_RATE_PER_IP="100000000/min",
               CDP_API_KEY_RATE="100000000/min", CDP_LOG_LEVEL="WARNING")
    command = [sys.executable, "-m", "gunicorn", "cdp.wsgi:application", "--bind", f"{HOST}:{port}",
               "--workers", str(_env_int("BENCH_WEB_WORKERS", 2)), "--threads", str(_env_int("BENCH_WEB_THREADS", 4)),
               "--log-level", "warning", "--keep-alive", "30"]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    wait_healthy(server, port)
    return server


def main() -> None:
    seconds = float(os.environ.get("BENCH_SECONDS", 5))
    threads = _env_int("BENCH_THREADS", 4)
    max_requests = _env_int("BENCH_MAX_REQUESTS", 60000)
    key = _setup()
    port = free_port()
    server = _start_server(port)
    try:
        validate_bodies = [json.dumps({"key": key, "fingerprint": f"bench-machine-{i}"}).encode()
                           for i in range(threads)]
        health = drive(port, "GET", "/healthz", [None], seconds, threads, max_requests)
        validate = drive(port, "POST", "/api/v1/licenses/validate", validate_bodies, seconds, threads,
                          max_requests)
    finally:
        stop(server)

    print(f"loopback, gunicorn {os.environ.get('BENCH_WEB_WORKERS', 2)} workers x "
          f"{os.environ.get('BENCH_WEB_THREADS', 4)} threads, {threads} keep-alive clients, {seconds:g} s each")
    print(f"{'endpoint':<32}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'requests':>10}{'errors':>8}")
    for name, result in (("GET /healthz", health), ("POST /api/v1/licenses/validate", validate)):
        print(f"{name:<32}{result['rps']:>10.0f}{result['p50']:>10.2f}{result['p99']:>10.2f}"
              f"{result['requests']:>10}{result['errors']:>8}")
    ratio = validate["rps"] / health["rps"] if health["rps"] else 0.0
    verdict = "meets" if ratio >= 0.5 and validate["p99"] < 20 else "MISSES"
    print(f"validate/healthz throughput {ratio:.2f} (target >= 0.50), validate p99 {validate['p99']:.2f} ms "
          f"(target < 20): {verdict} the target")


if __name__ == "__main__":
    main()
