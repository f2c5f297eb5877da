"""Do the sign-in lockout and the idempotent checkout slow license validation or ingest? (issue #12)

Starts the real app (gunicorn, ``cdp.settings.local``, the embedded servers of ``CDP_DATA_DIR``),
then measures, in the same run and on the same server:

- license validation (``POST /api/v1/licenses/validate``) and API ingest (``POST
  /api/v1/orders/ingest/``, batches of new orders) alone;
- the same two beside plain traffic at a fixed rate: the sign-in page fetched twice and the
  product list read, as often as the attack below sends its requests (the baseline: what serving
  that many requests costs on this machine);
- the same two beside the attack, at the same rates: a brute-force client sends wrong passwords to
  the portal's sign-in form (django-axes counts them and locks the account and the address) and a
  buyer double-clicks checkout (``POST /api/v1/billing/checkout/`` re-sent with the same
  ``Idempotency-Key``: one purchase, the rest answered from the stored result).

The verdict compares the figures under attack with those beside plain traffic: on a 2-core machine
any extra requests take CPU, so "alone" is shown for reference only. What must not happen is a lock
or a queue of the lockout or the idempotency records that holds validation or ingest up.
Afterwards the lockouts are reset, so later benchmarks can sign in from the same address.

Knobs (environment): BENCH_SECONDS (5), BENCH_THREADS (4 validation clients), BENCH_INGEST_THREADS
(2), BENCH_BATCH (100 orders per ingest call), BENCH_SIGNINS_PER_S (20), BENCH_CHECKOUTS_PER_S (5).
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import re
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


class Attack:
    """Wrong passwords and checkout double-clicks at fixed rates, in two threads, until stopped;
    with ``plain=True`` the same number of harmless requests instead (the baseline)."""

    def __init__(self, port: int, email: str, billing_key: str, *, plain: bool = False):
        self.port, self.email, self.billing_key, self.plain = port, email, billing_key, plain
        self.statuses: dict[str, dict[int, int]] = {"sign-in": {}, "checkout": {}}
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._every, args=(_env("BENCH_SIGNINS_PER_S", 20), self._sign_in)),
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

    def _sign_in(self, conn) -> None:
        conn.request("GET", "/accounts/login/", headers={"Host": TENANT_HOST})
        page = conn.getresponse()
        body = page.read().decode()
        cookie = re.search(r"csrftoken=([^;]+)", page.getheader("Set-Cookie", "") or "")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        if self.plain or not (cookie and token):
            conn.request("GET", "/accounts/login/", headers={"Host": TENANT_HOST})
            answer = conn.getresponse()
            answer.read()
            self._count("sign-in", answer.status)
            return
        form = f"csrfmiddlewaretoken={token.group(1)}&username={self.email}&password=wrong-{uuid.uuid4().hex[:8]}"
        conn.request("POST", "/accounts/login/", body=form, headers={
            "Host": TENANT_HOST, "Cookie": f"csrftoken={cookie.group(1)}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": f"http://{TENANT_HOST}:{self.port}/accounts/login/"})
        answer = conn.getresponse()
        answer.read()
        self._count("sign-in", answer.status)

    def _checkout(self, conn) -> None:
        if self.plain:
            conn.request("GET", "/api/v1/billing/products/", headers={
                "Host": TENANT_HOST, "Authorization": f"Api-Key {self.billing_key}"})
            answer = conn.getresponse()
            answer.read()
            self._count("checkout", answer.status)
            return
        body = json.dumps({"items": [{"sku": SKU}], "payment": {"gateway": "sandbox", "token": "tok_visa"}})
        conn.request("POST", "/api/v1/billing/checkout/", body=body, headers={
            "Host": TENANT_HOST, "Content-Type": "application/json", "Authorization": f"Api-Key {self.billing_key}",
            "Idempotency-Key": next(self._keys)})
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


def main() -> None:
    setup = _setup()
    port = free_port()
    server = _serve(port)
    run = uuid.uuid4().hex[:8]
    try:
        alone = _measure(port, setup, f"{run}a")
        with Attack(port, setup["email"], setup["billing_key"], plain=True) as plain:
            baseline = _measure(port, setup, f"{run}p")
        with Attack(port, setup["email"], setup["billing_key"]) as attack:
            loaded = _measure(port, setup, f"{run}b")
    finally:
        stop(server)
        from axes.utils import reset

        reset()  # the lockouts of 127.0.0.1 end with the bench

    print(f"loopback, gunicorn 2 workers x 4 threads, {_env('BENCH_SECONDS', 5):g} s per figure; attack: "
          f"{_env('BENCH_SIGNINS_PER_S', 20):g} wrong sign-ins/s, {_env('BENCH_CHECKOUTS_PER_S', 5):g} checkout "
          f"double-clicks/s (5 Idempotency-Keys)")
    print(f"{'figure':<24}{'alone':>10}{'plain':>10}{'attack':>10}{'attack/plain':>14}"
          f"{'p99 plain':>11}{'p99 attack':>12}")
    verdicts = []
    for name, key, unit in (("license validations/s", "validate", "rps"),
                            ("API ingest orders/s", "ingest", "orders_per_s")):
        a, p, b = alone[key], baseline[key], loaded[key]
        ratio = b[unit] / p[unit] if p[unit] else 0.0
        verdicts.append(ratio >= 0.8 and not (a["errors"] or p["errors"] or b["errors"]))
        print(f"{name:<24}{a[unit]:>10,.0f}{p[unit]:>10,.0f}{b[unit]:>10,.0f}{ratio:>14.2f}"
              f"{p['p99']:>9.1f}ms{b['p99']:>10.1f}ms")
    print(f"plain answers: sign-in page {dict(sorted(plain.statuses['sign-in'].items()))}, "
          f"products {dict(sorted(plain.statuses['checkout'].items()))}")
    print(f"attack answers: sign-in {dict(sorted(attack.statuses['sign-in'].items()))}, "
          f"checkout {dict(sorted(attack.statuses['checkout'].items()))}")
    print("target: each figure under attack >= 0.80 of the same figure beside plain traffic, no errors: "
          + ("meets" if all(verdicts) else "MISSES") + " the target")


if __name__ == "__main__":
    main()
