"""Do the sign-in lockout and the idempotent checkout slow license validation or ingest? (issue #12)

Starts the real app (gunicorn, ``cdp.settings.local``, the embedded servers of ``CDP_DATA_DIR``),
then measures, in the same run and on the same server:

- license validation (``POST /api/v1/licenses/validate``) and API ingest (``POST
  /api/v1/orders/ingest/``, batches of new orders) alone;
- the same two beside ordinary traffic at fixed rates (the baseline): people who mistype the
  sign-in form (the page fetched, then posted without a password: the form answers, nobody is
  authenticated) and buyers who click checkout once (``POST /api/v1/billing/checkout/``, a new
  ``Idempotency-Key`` and a real purchase each time);
- the same two beside the attack, request for request at the same rates: a brute-force client
  posts wrong passwords to the portal's sign-in form (django-axes counts them and locks the account
  and the address) and a buyer double-clicks checkout (the same body re-sent with one of five
  ``Idempotency-Key`` values: five purchases, the rest answered from the stored result).

Both phases send the same requests to the same endpoints at the same rates; only the hostile
part differs. The attack is measured in its steady state: before the rounds, wrong passwords are
posted until the account is locked (the five that precede a lockout each cost a full password
hash, as any sign-in does; that cost is bounded by the lockout limits, not by this bench), and
the lockout stands through every attack phase. On a 2-core machine any extra request takes CPU, so "alone" is shown for reference
only; what must not happen is a lock or a queue of the lockout or the idempotency records that
holds validation or ingest up. The phases alternate for BENCH_ROUNDS rounds and each figure is the
median over the rounds, so that other work on the machine falls on both sides alike. The
lockouts are reset at the end, so later benchmarks can sign in from the same address.

Knobs (environment): BENCH_SECONDS (5), BENCH_ROUNDS (3), BENCH_THREADS (4 validation clients),
BENCH_INGEST_THREADS (2), BENCH_BATCH (100 orders per ingest call), BENCH_SIGNINS_PER_S (10),
BENCH_CHECKOUTS_PER_S (5).
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import HOST, drive, free_port, stop, wait_healthy  # noqa: E402

SLUG = "secbench"
TENANT_HOST = f"{SLUG}.localhost"
PASSWORD = "Bench-Horse-42-secure"
SKU = "BENCH-SEC-ADDON"


def _env(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _setup() -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp.settings.local")
    import django

    django.setup()
    from django.core.management import call_command

    from billing.models import Product
    from cdp.context import Actor
    from licensing.services import license_issue
    from tenants.models import Domain, Role, Tenant, User
    from tenants.services import api_key_create, membership_set, tenant_provision, user_create

    call_command("migrate_schemas", "--shared", verbosity=0)
    public, _ = Tenant.objects.get_or_create(schema_name="public", defaults={"name": "CDP platform", "slug": "platform"})
    Domain.objects.get_or_create(domain="localhost", defaults={"tenant": public, "is_primary": True})
    actor = Actor.system("bench")
    tenant = Tenant.objects.filter(slug=SLUG).first() or tenant_provision(slug=SLUG, name="Security bench", actor=actor)
    email = "secbench-owner@bench.test"
    user = User.objects.filter(email=email).first() or user_create(email=email, password=PASSWORD, actor=actor)
    membership_set(user=user, tenant=tenant, role=Role.OWNER, actor=actor)
    Product.objects.get_or_create(sku=SKU, defaults={"name": "Bench add-on", "price": Decimal("10.00"),
                                                     "interval": Product.Interval.ONE_TIME})
    return {
        "license": license_issue(tenant=tenant, plan_code="enterprise", max_machines=1000, actor=actor).key,
        "ingest_key": api_key_create(tenant=tenant, name="bench ingest", scopes=["read", "write"], actor=actor).key,
        "billing_key": api_key_create(tenant=tenant, name="bench billing", scopes=["read", "billing"],
                                      actor=actor).key,
        "email": email,
    }


def _serve(port: int) -> subprocess.Popen:
    # Rate limits far above the load: the bench measures the lockout and checkout paths, not the
    # API's throttles. The sign-in limits stay the product's defaults.
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="cdp.settings.local", CDP_LOG_LEVEL="WARNING",
               CDP_LICENSE_RATE_PER_KEY="100000000/min", CDP_LICENSE_RATE_PER_IP="100000000/min",
               CDP_API_KEY_RATE="100000000/min")
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "cdp.wsgi:application", "--bind", f"{HOST}:{port}",
                               "--workers", "2", "--threads", "4", "--log-level", "warning", "--keep-alive", "30"],
                              cwd=ROOT, env=env)
    wait_healthy(server, port)
    return server


class Traffic:
    """Sign-in posts and checkout clicks at fixed rates, in two threads, until stopped: hostile
    (wrong passwords, replayed Idempotency-Keys) or, with ``plain=True``, the same requests from
    ordinary people (a form posted without a password, a new purchase per click)."""

    def __init__(self, port: int, email: str, billing_key: str, *, plain: bool):
        self.port, self.email, self.billing_key, self.plain = port, email, billing_key, plain
        self.statuses: dict[str, dict[int, int]] = {"sign-in": {}, "checkout": {}}
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._every, args=(_env("BENCH_SIGNINS_PER_S", 10), self._sign_in)),
                         threading.Thread(target=self._every, args=(_env("BENCH_CHECKOUTS_PER_S", 5), self._checkout))]
        self._keys = itertools.cycle([str(uuid.uuid4()) for _ in range(5)])  # 5 purchases, the rest replays

    def _every(self, rate: float, send) -> None:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
        next_at = time.perf_counter()
        while not self._stop.is_set():
            try:
                send(conn)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
            next_at += 1 / rate
            self._stop.wait(max(0.0, next_at - time.perf_counter()))
        conn.close()

    def _count(self, kind: str, status: int) -> None:
        self.statuses[kind][status] = self.statuses[kind].get(status, 0) + 1

    def _sign_in(self, conn) -> int:
        conn.request("GET", "/accounts/login/", headers={"Host": TENANT_HOST})
        page = conn.getresponse()
        body = page.read().decode()
        cookie = re.search(r"csrftoken=([^;]+)", page.getheader("Set-Cookie", "") or "")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        if not (cookie and token):
            self._count("sign-in", page.status)
            return page.status
        password = "" if self.plain else f"wrong-{uuid.uuid4().hex[:8]}"
        form = f"csrfmiddlewaretoken={token.group(1)}&username={self.email}&password={password}"
        conn.request("POST", "/accounts/login/", body=form, headers={
            "Host": TENANT_HOST, "Cookie": f"csrftoken={cookie.group(1)}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": f"http://{TENANT_HOST}:{self.port}/accounts/login/"})
        answer = conn.getresponse()
        answer.read()
        self._count("sign-in", answer.status)
        return answer.status

    def lock_out(self) -> int:
        """Post wrong passwords until the sign-in answers with the lockout (429); the attempts made."""
        conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
        try:
            for attempt in range(1, 21):
                if self._sign_in(conn) == 429:
                    return attempt
        finally:
            conn.close()
            self.statuses["sign-in"].clear()
        raise RuntimeError("the sign-in never locked the account out")

    def _checkout(self, conn) -> None:
        body = json.dumps({"items": [{"sku": SKU}], "payment": {"gateway": "sandbox", "token": "tok_visa"}})
        key = str(uuid.uuid4()) if self.plain else next(self._keys)
        conn.request("POST", "/api/v1/billing/checkout/", body=body, headers={
            "Host": TENANT_HOST, "Content-Type": "application/json", "Authorization": f"Api-Key {self.billing_key}",
            "Idempotency-Key": key})
        answer = conn.getresponse()
        answer.read()
        self._count("checkout", answer.status)

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join()


def _orders_body(run: str, batch: int):
    def body_for(thread: int, number: int) -> bytes:
        base = f"{run}-{thread}-{number}"
        return json.dumps({"orders": [
            {"source": "api", "external_order_id": f"{base}-{i}", "order_date": "2026-11-02T10:00:00-03:00",
             "status": "paid", "currency": "ARS", "total_amount": "1500.50",
             "customer": {"email": f"{base}-{i}@bench.test", "first_name": "Ana", "last_name": "Bench"}}
            for i in range(batch)]}).encode()
    return body_for


def _measure(port: int, setup: dict, run: str) -> dict:
    seconds = _env("BENCH_SECONDS", 5)
    threads = int(_env("BENCH_THREADS", 4))
    batch = int(_env("BENCH_BATCH", 100))
    validate = drive(port, "POST", "/api/v1/licenses/validate",
                     [json.dumps({"key": setup["license"], "fingerprint": f"secbench-{i}"}).encode()
                      for i in range(threads)], seconds, threads, 10**6)
    ingest = drive(port, "POST", "/api/v1/orders/ingest/", [b'{"orders": []}'], seconds,
                   int(_env("BENCH_INGEST_THREADS", 2)), 10**6, host=TENANT_HOST,
                   headers={"Authorization": f"Api-Key {setup['ingest_key']}"}, body_for=_orders_body(run, batch),
                   ok=lambda status: status in (200, 400))
    ingest["orders_per_s"] = ingest["rps"] * batch
    return {"validate": validate, "ingest": ingest}


def _server_cpu(server: subprocess.Popen) -> float:
    """CPU seconds used so far by the server's processes (gunicorn and its workers): unlike
    throughput, this does not move with other work on the machine."""
    import psutil

    root = psutil.Process(server.pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def _cost(server: subprocess.Popen, port: int, setup: dict, *, plain: bool, count: int = 40) -> dict:
    """Server CPU ms per sign-in post (page and post) and per checkout click, each sent ``count``
    times one after the other on one connection: the attack's own price beside ordinary use."""
    traffic = Traffic(port, setup["email"], setup["billing_key"], plain=plain)
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    result = {}
    try:
        for kind, send in (("sign-in", traffic._sign_in), ("checkout", traffic._checkout)):
            send(conn)  # warm
            used = _server_cpu(server)
            for _ in range(count):
                send(conn)
            result[kind] = (_server_cpu(server) - used) / count * 1000
    finally:
        conn.close()
    return result


def _median(results: list[dict], unit: str) -> dict:
    return {unit: statistics.median(r[unit] for r in results), "p99": statistics.median(r["p99"] for r in results),
            "errors": sum(r["errors"] for r in results)}


def _merge(into: dict, statuses: dict) -> None:
    for kind, counts in statuses.items():
        for status, n in counts.items():
            into.setdefault(kind, {})[status] = into.setdefault(kind, {}).get(status, 0) + n


def main() -> None:
    setup = _setup()
    from axes.utils import reset  # after django.setup()

    port = free_port()
    server = _serve(port)
    run = uuid.uuid4().hex[:8]
    rounds = int(_env("BENCH_ROUNDS", 3))
    phases = {"plain": [], "attack": []}
    answers = {"plain": {}, "attack": {}}

    try:
        alone = _measure(port, setup, f"{run}a")
        attempts = Traffic(port, setup["email"], setup["billing_key"], plain=False).lock_out()
        for number in range(rounds):
            for phase in ("plain", "attack"):
                with Traffic(port, setup["email"], setup["billing_key"], plain=phase == "plain") as traffic:
                    phases[phase].append(_measure(port, setup, f"{run}{phase[0]}{number}"))
                _merge(answers[phase], traffic.statuses)
        cost = {phase: _cost(server, port, setup, plain=phase == "plain") for phase in ("plain", "attack")}
    finally:
        stop(server)
        reset()

    print(f"loopback, gunicorn 2 workers x 4 threads, {_env('BENCH_SECONDS', 5):g} s per figure, medians of "
          f"{rounds} alternating rounds; beside: {_env('BENCH_SIGNINS_PER_S', 10):g} sign-in posts/s and "
          f"{_env('BENCH_CHECKOUTS_PER_S', 5):g} checkout clicks/s (plain: no password, a new purchase per click; "
          f"attack: wrong passwords, 5 Idempotency-Keys replayed)")
    print(f"the account was locked out after {attempts} wrong passwords, before the rounds")
    print(f"{'figure':<24}{'alone':>10}{'plain':>10}{'attack':>10}{'attack/plain':>14}"
          f"{'p99 plain':>11}{'p99 attack':>12}")
    verdicts = []
    for name, key, unit in (("license validations/s", "validate", "rps"),
                            ("API ingest orders/s", "ingest", "orders_per_s")):
        a = alone[key]
        p = _median([r[key] for r in phases["plain"]], unit)
        b = _median([r[key] for r in phases["attack"]], unit)
        ratio = b[unit] / p[unit] if p[unit] else 0.0
        verdicts.append(ratio >= 0.8 and not (a["errors"] or p["errors"] or b["errors"]))
        per_round = ", ".join(f"{x[key][unit] and y[key][unit] / x[key][unit]:.2f}"
                              for x, y in zip(phases["plain"], phases["attack"]))
        print(f"{name:<24}{a[unit]:>10,.0f}{p[unit]:>10,.0f}{b[unit]:>10,.0f}{ratio:>14.2f}"
              f"{p['p99']:>9.1f}ms{b['p99']:>10.1f}ms   rounds: {per_round}")
    for phase in ("plain", "attack"):
        print(f"{phase} answers: sign-in posts {dict(sorted(answers[phase].get('sign-in', {}).items()))}, "
              f"checkout {dict(sorted(answers[phase].get('checkout', {}).items()))}")
    print("server CPU per request, sent one at a time (does not move with other load on the machine):")
    for kind in ("sign-in", "checkout"):
        print(f"  {kind:<9} plain {cost['plain'][kind]:6.1f} ms   attack {cost['attack'][kind]:6.1f} ms")
    print("target: each figure under attack >= 0.80 of the same figure beside ordinary traffic, no errors: "
          + ("meets" if all(verdicts) else "MISSES") + " the target")


if __name__ == "__main__":
    main()
