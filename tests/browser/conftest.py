"""A real WSGI server in a thread plus headless Debian Chromium driven by Playwright.

The server reads the committed session world (tenants alpha/beta and their users), so these
tests do not use the per-test transaction. Chromium resolves ``*.localhost`` to loopback,
which is how the browser reaches each tenant's host."""

from __future__ import annotations

import os
import shutil
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


@pytest.fixture(scope="session")
def live_url(_world, django_db_blocker):
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.wsgi import get_wsgi_application

    with django_db_blocker.unblock():
        server = make_server("127.0.0.1", 0, StaticFilesHandler(get_wsgi_application()),
                             server_class=_ThreadingServer, handler_class=_QuietHandler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield lambda host: f"http://{host}:{server.server_port}"
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM:
        if os.environ.get("CDP_REQUIRE_BROWSER"):
            pytest.fail("Debian's chromium is required for the browser tests (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium to run the browser tests)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; Django would then refuse the
    # test's own (synchronous) transaction handling. Nothing here is actually async.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, django_db_blocker):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15000)
    with django_db_blocker.unblock():
        yield page
    context.close()
