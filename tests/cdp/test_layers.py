"""Issue #20's layering rules for the operations modules (``cdp/ops``): no app imported (the
higher apps reach them through ``cdp.registry``), no import hidden inside a function, and the
environment read only where a process entry point or a library's own switch needs it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = {"tenants", "licensing", "billing", "customers", "analytics", "integrations", "loyalty", "engagement", "ai"}

#: Where cdp/ops reads ``os.environ``, and why that is not configuration through the settings.
ENVIRONMENT_READS = {
    # gunicorn's config file runs in the master before Django's settings exist
    "cdp/ops/gunicorn_conf.py",
    # prometheus-client decides its multiprocess mode from this variable itself; mirroring it
    # into a setting could only make the two disagree
    "cdp/ops/metrics.py",
    # the pg_dump/pg_restore children inherit this process's environment (PATH, locale)
    "cdp/ops/pgctl.py",
}


def _modules():
    return sorted((ROOT / "cdp" / "ops").rglob("*.py"))


def _imported(node) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module:
        return [node.module]
    return []


def test_the_operations_modules_import_no_app():
    offenders = {}
    for path in _modules():
        names = [name for node in ast.walk(ast.parse(path.read_text())) for name in _imported(node)]
        bad = sorted(name for name in names if name.split(".")[0] in APPS)
        if bad:
            offenders[str(path.relative_to(ROOT))] = bad
    assert offenders == {}


def test_the_operations_modules_hide_no_import_in_a_function():
    offenders = []
    for path in _modules():
        for function in ast.walk(ast.parse(path.read_text())):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                offenders += [f"{path.relative_to(ROOT)}:{node.lineno}" for node in ast.walk(function)
                              if isinstance(node, ast.Import | ast.ImportFrom)]
    assert offenders == []


def test_the_operations_modules_read_the_environment_only_where_listed():
    readers = {str(path.relative_to(ROOT)) for path in _modules() if "os.environ" in path.read_text()}
    assert readers <= ENVIRONMENT_READS
