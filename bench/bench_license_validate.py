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

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


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
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz", headers={"Host": "localhost"})
            if conn.getresponse().status == 200:
                conn.close()
                return server
        except OSError:
            pass
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited during start-up")
        time.sleep(0.3)
    server.terminate()
    raise RuntimeError("gunicorn did not answer /healthz within 60 s")


def _drive(port: int, method: str, path: str, bodies: list[bytes | None], seconds: float, threads: int,
           max_requests: int) -> dict:
    """Keep-alive clients, one connection per thread, for ``seconds`` (or ``max_requests``)."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads
    budget = max_requests // threads
    start_gate = threading.Barrier(threads + 1)
    stop_at = [0.0]

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        body = bodies[index % len(bodies)]
        headers = {"Host": "localhost", "Content-Type": "application/json", "Connection": "keep-alive"}
        # warm the connection (and, for validation, bind this thread's machine)
        conn.request(method, path, body=body, headers=headers)
        conn.getresponse().read()
        start_gate.wait()
        mine = latencies[index]
        while time.perf_counter() < stop_at[0] and len(mine) < budget:
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors[index] += 1
            except (OSError, http.client.HTTPException):
                errors[index] += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=10)
                continue
            mine.append(time.perf_counter() - t0)
        conn.close()

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for thread in pool:
        thread.start()
    stop_at[0] = time.perf_counter() + seconds + 3600  # provisional, set for real below
    start_gate.wait()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - began
    samples = sorted(s for per_thread in latencies for s in per_thread)
    count = len(samples)

    def pct(p: float) -> float:
        return samples[min(count - 1, int(p * count))] * 1000 if count else float("nan")

    return {"requests": count, "errors": sum(errors), "rps": count / elapsed if elapsed else 0.0,
            "p50": pct(0.50), "p99": pct(0.99), "mean": statistics.fmean(samples) * 1000 if count else float("nan")}


def main() -> None:
    seconds = float(os.environ.get("BENCH_SECONDS", 5))
    threads = _env_int("BENCH_THREADS", 4)
    max_requests = _env_int("BENCH_MAX_REQUESTS", 60000)
    key = _setup()
    port = _free_port()
    server = _start_server(port)
    try:
        validate_bodies = [json.dumps({"key": key, "fingerprint": f"bench-machine-{i}"}).encode()
                           for i in range(threads)]
        health = _drive(port, "GET", "/healthz", [None], seconds, threads, max_requests)
        validate = _drive(port, "POST", "/api/v1/licenses/validate", validate_bodies, seconds, threads,
                          max_requests)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()

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
