"""Threads for tests with real concurrency: each runs on its own database connection, in
autocommit, so locks and constraints are exercised for real (a test's own transaction does not
see what they commit). Whoever commits through them removes it afterwards."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def in_thread(fn: Callable, *, timeout: float = 120):
    """Run ``fn`` on a thread (its own connection, autocommit) and return its result, or raise
    what it raised."""
    out, errors = [], []

    def run():
        try:
            out.append(fn())
        except BaseException as exc:  # re-raised below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=timeout)
    assert not thread.is_alive(), "thread did not finish"
    if errors:
        raise errors[0]
    return out[0] if out else None


def concurrently(fns: list[Callable[[threading.Barrier], object]]) -> list:
    """Run every ``fn(barrier)`` on its own thread at once (each calls ``barrier.wait()`` right
    before the racing step); returns each result, or the exception it raised."""
    barrier = threading.Barrier(len(fns))
    results: list = [None] * len(fns)

    def runner(index, fn):
        def run():
            try:
                results[index] = fn(barrier)
            except BaseException as exc:  # returned to the test, which asserts on it
                results[index] = exc
            finally:
                connection.close()
        return run

    threads = [threading.Thread(target=runner(i, fn)) for i, fn in enumerate(fns)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread did not finish"
    return results


def thread_started(fn: Callable):
    """Start ``fn`` on its own thread (own connection, autocommit) and return ``(thread, errors,
    out)`` at once: the test starts several, joins them, then asserts on ``errors`` and ``out``."""
    errors, out = [], []

    def run():
        try:
            out.append(fn())
        except Exception as exc:  # surfaced by the test's assertions
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors, out
