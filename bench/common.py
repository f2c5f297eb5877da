"""Pieces the HTTP benchmarks share: a free loopback port, waiting for a server's /healthz, and
keep-alive clients driving one endpoint for a fixed time."""

from __future__ import annotations

import http.client
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Callable

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_healthy(server: subprocess.Popen, port: int, timeout: float = 60) -> None:
    """Return once ``/healthz`` on the platform host answers 200; raise if the server exits or
    does not answer within ``timeout`` seconds (the server is then stopped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz", headers={"Host": "localhost"})
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        if server.poll() is not None:
            raise RuntimeError("the server exited during start-up")
        time.sleep(0.3)
    server.terminate()
    raise RuntimeError(f"the server did not answer /healthz within {timeout:g} s")


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()


def drive(port: int, method: str, path: str, bodies: list[bytes | None], seconds: float, threads: int,
          max_requests: int, *, host: str = "localhost", headers: dict | None = None,
          ok: Callable[[int], bool] = lambda status: status == 200,
          body_for: Callable[[int, int], bytes] | None = None) -> dict:
    """Keep-alive clients, one connection per thread, each sending its body (``bodies[i % n]``, or
    ``body_for(thread, request_number)`` when given) for ``seconds`` (or until ``max_requests`` in
    all). Returns requests, errors (answers ``ok`` refuses or failed connections), requests/s and
    latency percentiles in ms."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads
    budget = max(1, max_requests // threads)
    start_gate = threading.Barrier(threads + 1)
    stop_at = [0.0]
    sent_headers = {"Host": host, "Content-Type": "application/json", "Connection": "keep-alive", **(headers or {})}

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        body = bodies[index % len(bodies)]
        # warm the connection (and, for validation, bind this thread's machine)
        conn.request(method, path, body=body, headers=sent_headers)
        conn.getresponse().read()
        start_gate.wait()
        mine = latencies[index]
        while time.perf_counter() < stop_at[0] and len(mine) < budget:
            if body_for is not None:
                body = body_for(index, len(mine) + errors[index])
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=sent_headers)
                response = conn.getresponse()
                response.read()
                if not ok(response.status):
                    errors[index] += 1
            except (OSError, http.client.HTTPException):
                errors[index] += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
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


def percentiles(samples: list[float]) -> str:
    """``samples`` (seconds) as p50/p95/p99 and the mean, in ms, for a benchmark's line."""
    ordered = sorted(samples)
    if not ordered:
        return "no samples"

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return (f"p50 {pick(0.50):7.1f} ms  p95 {pick(0.95):7.1f} ms  p99 {pick(0.99):7.1f} ms  "
            f"(mean {statistics.fmean(ordered) * 1000:.1f} ms, n={len(ordered)})")
