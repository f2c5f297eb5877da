"""Sustained load: the whole product (``manage.py serve``: gunicorn, a Celery worker, beat) under a
fixed mix for 10 minutes on loopback.

Each second it sends, at fixed times whatever the answers take (open loop, so a slow server
cannot slow the load down): API ingest (a batch of orders), license validation, Customer 360
reads and portal pages (dashboard, customer list, a customer page) of a signed-in member. It
reports p50/p99 per kind, the errors (must be 0: any answer but 2xx or a transport error), and the
memory (RSS) of every process of the server at the start (after one minute of warm-up at the same
load) and at the end: it must stay flat (growth under 15% or 30 MB per process).

Knobs: BENCH_SOAK_SECONDS (600), BENCH_SOAK_WARMUP (60), BENCH_SOAK_INGEST (1 batch of 10 orders
per second), BENCH_SOAK_VALIDATE (10/s), BENCH_SOAK_360 (5/s), BENCH_SOAK_PORTAL (2/s): a rate the
2-core reference machine sustains with the rest of its work (a rate above capacity only measures
a growing queue),
BENCH_SOAK_CLIENTS (32 client threads). Uses the ``soak`` tenant of CDP_DATA_DIR (created once).
BENCH_SOAK_STRICT=1 exits 1 unless the target is met, ``errors`` only on errors (``make ops-check``
runs a short soak that way: memory flatness needs the full 10 minutes to mean something).
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import HOST, free_port  # noqa: E402

PASSWORD = "Soak-Bench-Password-42"


def _env(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _setup() -> dict:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp.settings.local")
    import django

    django.setup()
    from django.core.management import call_command
    from django_tenants.utils import tenant_context

    from cdp.context import Actor
    from customers.models import Customer
    from customers.services.ingest import order_ingest
    from licensing.services import license_issue
    from tenants.models import Domain, Role, Tenant, User
    from tenants.services import api_key_create, membership_set, tenant_provision, user_create

    call_command("migrate_schemas", "--shared", verbosity=0)
    public, _ = Tenant.objects.get_or_create(schema_name="public", defaults={"name": "CDP platform", "slug": "platform"})
    Domain.objects.get_or_create(domain="localhost", defaults={"tenant": public, "is_primary": True})
    actor = Actor.system("bench")
    tenant = Tenant.objects.filter(slug="soak").first() or tenant_provision(slug="soak", name="Soak", actor=actor)
    email = "soak-owner@bench.test"
    user = User.objects.filter(email=email).first() or user_create(email=email, password=PASSWORD, actor=actor)
    membership_set(user=user, tenant=tenant, role=Role.OWNER, actor=actor)
    key = api_key_create(tenant=tenant, name="soak", scopes=["read", "write"], actor=actor).key
    license_key = license_issue(tenant=tenant, plan_code="enterprise", max_machines=100000, actor=actor).key
    with tenant_context(tenant):
        if Customer.objects.count() < 200:
            order_ingest(records=[_order(f"seed-{n}", n) for n in range(200)], actor=actor, tenant=tenant)
        customers = list(Customer.objects.order_by("id").values_list("id", flat=True)[:200])
    return {"key": key, "license": license_key, "customers": customers, "email": email}


def _order(order_id: str, person: int) -> dict:
    return {"source": "api", "external_order_id": order_id, "order_date": "2026-05-01T10:00:00-03:00",
            "status": "completed", "currency": "ARS", "total_amount": "1500.50",
            "customer": {"email": f"soak{person % 5000}@example.com", "external_id": f"s-{person % 5000}",
                         "first_name": "Ana", "last_name": "Soak", "country": "AR"},
            "items": [{"sku": "YERBA-1", "name": "Yerba 1kg", "quantity": 2, "unit_price": "750.25"}]}


def _serve(port: int) -> subprocess.Popen:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="cdp.settings.local", CDP_LOG_LEVEL="WARNING",
               CDP_LICENSE_RATE_PER_KEY="100000000/min", CDP_LICENSE_RATE_PER_IP="100000000/min",
               CDP_API_KEY_RATE="100000000/min", CDP_SIGNIN_ADDRESS_FAILURES="100000")
    server = subprocess.Popen([sys.executable, "manage.py", "serve", "--port", str(port), "--web-workers", "2"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz", headers={"Host": "localhost"})
            if conn.getresponse().status == 200:
                return server
        except OSError:
            pass
        if server.poll() is not None:
            raise RuntimeError("manage.py serve exited during start-up")
        time.sleep(0.5)
    raise RuntimeError("the server did not answer /healthz within 120 s")


def _sign_in(port: int, email: str) -> str:
    """A real sign-in through the portal's form; returns the Cookie header of the session."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    host = "soak.localhost"
    conn.request("GET", "/accounts/login/", headers={"Host": host})
    page = conn.getresponse()
    body = page.read().decode()
    csrf_cookie = re.search(r"csrftoken=([^;]+)", page.getheader("Set-Cookie", "")).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
    form = f"csrfmiddlewaretoken={token}&username={email}&password={PASSWORD}"
    conn.request("POST", "/accounts/login/", body=form, headers={
        "Host": host, "Cookie": f"csrftoken={csrf_cookie}", "Content-Type": "application/x-www-form-urlencoded",
        "Referer": f"http://{host}:{port}/accounts/login/"})
    answer = conn.getresponse()
    answer.read()
    session = re.search(r"sessionid=([^;]+)", answer.getheader("Set-Cookie", "") or "")
    if answer.status != 302 or not session:
        raise RuntimeError(f"sign-in failed ({answer.status})")
    return f"sessionid={session.group(1)}; csrftoken={csrf_cookie}"


def _processes(root_pid: int) -> dict[str, int]:
    """RSS (bytes) of the server and each of its descendants, named by role."""
    import psutil

    out = {}
    root = psutil.Process(root_pid)
    for proc in [root, *root.children(recursive=True)]:
        try:
            cmd = " ".join(proc.cmdline())
            role = ("serve" if "manage.py serve" in cmd else "gunicorn" if "gunicorn" in cmd else
                    "celery-beat" if " beat" in cmd else "celery-worker" if "worker" in cmd else proc.name())
            out[f"{role}[{proc.pid}]"] = proc.memory_info().rss
        except psutil.Error:
            continue
    return out


def main() -> None:
    seconds, warmup = _env("BENCH_SOAK_SECONDS", 600), _env("BENCH_SOAK_WARMUP", 60)
    rates = {"ingest": _env("BENCH_SOAK_INGEST", 1), "license": _env("BENCH_SOAK_VALIDATE", 10),
             "customer360": _env("BENCH_SOAK_360", 5), "portal": _env("BENCH_SOAK_PORTAL", 2)}
    world = _setup()
    port = free_port()
    server = _serve(port)
    try:
        cookie = _sign_in(port, world["email"])
        portal_paths = itertools.cycle(["/", "/customers/", *[f"/customers/{c}/" for c in world["customers"][:20]]])
        customers = itertools.cycle(world["customers"])
        orders = itertools.count()

        def request(kind: str):
            if kind == "ingest":
                batch = [_order(f"soak-{next(orders)}", n) for n in range(10)]
                return ("POST", "/api/v1/orders/ingest/", "soak.localhost", json.dumps({"orders": batch}),
                        {"Authorization": f"Api-Key {world['key']}", "Content-Type": "application/json"})
            if kind == "license":
                body = json.dumps({"key": world["license"], "fingerprint": f"soak-{next(orders) % 50}"})
                return ("POST", "/api/v1/licenses/validate", "localhost", body, {"Content-Type": "application/json"})
            if kind == "customer360":
                return ("GET", f"/api/v1/customers/{next(customers)}/", "soak.localhost", None,
                        {"Authorization": f"Api-Key {world['key']}"})
            return ("GET", next(portal_paths), "soak.localhost", None, {"Cookie": cookie})

        results: dict[str, list[float]] = {kind: [] for kind in rates}
        errors: dict[str, list[str]] = {kind: [] for kind in rates}
        jobs: queue.Queue = queue.Queue()
        measuring = threading.Event()
        lock = threading.Lock()

        def send(conn, method, path, host, body, headers) -> str | None:
            conn.request(method, path, body=body, headers={"Host": host, **headers})
            answer = conn.getresponse()
            answer.read()
            return None if 200 <= answer.status < 300 else f"{answer.status} {method} {path}"

        def client():
            conn = http.client.HTTPConnection(HOST, port, timeout=30)
            while True:
                job = jobs.get()
                if job is None:
                    return
                kind, (method, path, host, body, headers) = job
                started = time.perf_counter()
                reused = conn.sock is not None
                try:
                    try:
                        failed = send(conn, method, path, host, body, headers)
                    except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                        if not reused:
                            raise
                        # The server closed this idle keep-alive connection (gunicorn's keepalive
                        # timeout) before the request reached it: send it again on a new one, as
                        # every HTTP client does. A fresh connection failing still counts.
                        conn.close()
                        failed = send(conn, method, path, host, body, headers)
                except (OSError, http.client.HTTPException) as exc:
                    failed = f"{exc.__class__.__name__} {method} {path}"
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, port, timeout=30)
                elapsed = time.perf_counter() - started
                if measuring.is_set():
                    with lock:
                        (errors[kind].append(failed) if failed else results[kind].append(elapsed))

        threads = [threading.Thread(target=client, daemon=True) for _ in range(int(_env("BENCH_SOAK_CLIENTS", 32)))]
        for thread in threads:
            thread.start()

        def drive(duration: float):
            """Every kind at its rate, at fixed times (open loop)."""
            began = time.perf_counter()
            due = {kind: began for kind in rates}
            while time.perf_counter() - began < duration:
                now = time.perf_counter()
                for kind, rate in rates.items():
                    while rate > 0 and due[kind] <= now:
                        jobs.put((kind, request(kind)))
                        due[kind] += 1 / rate
                time.sleep(0.005)

        drive(warmup)
        time.sleep(2)
        memory_start = _processes(server.pid)
        measuring.set()
        drive(seconds)
        measuring.clear()
        for _ in threads:
            jobs.put(None)
        for thread in threads:
            thread.join(timeout=60)
        memory_end = _processes(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()

    print(f"loopback, manage.py serve (2 gunicorn workers, 1 Celery worker, beat), {seconds:g} s after "
          f"{warmup:g} s warm-up, per second: " + ", ".join(f"{kind} {rate:g}" for kind, rate in rates.items()))
    print(f"{'kind':<14}{'requests':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    total_errors = 0
    for kind in rates:
        samples = sorted(results[kind])
        count = len(samples)
        p50 = samples[int(0.50 * count)] * 1000 if count else float("nan")
        p99 = samples[min(count - 1, int(0.99 * count))] * 1000 if count else float("nan")
        total_errors += len(errors[kind])
        print(f"{kind:<14}{count:>10}{p50:>10.1f}{p99:>10.1f}{len(errors[kind]):>8}")
        for failure in sorted(set(errors[kind]))[:5]:
            print(f"    {failure}")
    print(f"{'process':<28}{'RSS start MB':>14}{'RSS end MB':>12}{'growth':>9}")
    flat = True
    for name, start in sorted(memory_start.items()):
        end = memory_end.get(name)
        if end is None:
            print(f"{name:<28}{start / 2**20:>14.1f}{'(gone)':>12}")
            flat = False
            continue
        grew = end - start
        ok = grew <= max(30 * 2**20, 0.15 * start)
        flat &= ok
        print(f"{name:<28}{start / 2**20:>14.1f}{end / 2**20:>12.1f}{grew / 2**20:>+8.1f}{'' if ok else ' !'}")
    for name in sorted(set(memory_end) - set(memory_start)):
        print(f"{name:<28}{'(new)':>14}{memory_end[name] / 2**20:>12.1f}")
    verdict = "meets" if total_errors == 0 and flat else "MISSES"
    print(f"errors {total_errors} (target 0), memory {'flat' if flat else 'GROWING'}: {verdict} the target")
    strict = os.environ.get("BENCH_SOAK_STRICT", "")
    if (strict == "errors" and total_errors) or (strict and strict != "errors" and verdict != "meets"):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
