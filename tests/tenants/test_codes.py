"""The vocabularies of the public-schema apps (``<app>/codes.py``): every error code raised and
every audit action written comes from them, and their values are the documented ones."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from billing.codes import AuditAction as BillingAction
from billing.codes import ErrorCode as BillingError
from cdp.codes import ErrorCode as KitError
from licensing.codes import AuditAction as LicensingAction
from licensing.codes import ErrorCode as LicensingError
from licensing.codes import ValidationCode
from tenants.codes import AuditAction as TenantsAction
from tenants.codes import ErrorCode as TenantsError

ROOT = Path(__file__).resolve().parents[2]
APPS = ("tenants", "licensing", "billing")
EXCEPTION_BASES = ("Error", "Exception", "Conflict", "NotFound", "PermissionDenied", "QuotaExceeded", "Throttled")


def _literals(app: str):
    """Error codes (``code="..."`` given to an exception, class-level ``code = "..."`` of an
    exception class) and audit actions (``action="..."``) written as text instead of a member."""
    for path in sorted((ROOT / app).rglob("*.py")):
        if "migrations" in path.parts or path.name == "codes.py":
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                if isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument":
                    continue  # argparse's action="store_true"
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                raises = name[:1].isupper() or name == "__init__"  # an exception built, not a row looked up
                for keyword in node.keywords:
                    if (keyword.arg == "action" or (keyword.arg == "code" and raises)) and \
                            isinstance(keyword.value, ast.Constant) and isinstance(keyword.value.value, str):
                        yield f"{path.relative_to(ROOT)}:{node.lineno} {keyword.arg}={keyword.value.value!r}"
            elif isinstance(node, ast.ClassDef) and any(
                    getattr(base, "id", getattr(base, "attr", "")).endswith(EXCEPTION_BASES) for base in node.bases):
                for statement in node.body:
                    if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Constant) and any(
                            isinstance(t, ast.Name) and t.id in ("code", "default_code") for t in statement.targets):
                        yield f"{path.relative_to(ROOT)}:{statement.lineno} code={statement.value.value!r}"


@pytest.mark.parametrize("app", APPS)
def test_error_codes_and_audit_actions_come_from_the_vocabulary(app):
    assert list(_literals(app)) == []


def test_values_are_the_documented_ones():
    # given a few codes clients and tests rely on, then they keep their text exactly
    assert TenantsError.SLUG_TAKEN == "slug_taken" and TenantsError.LAST_OWNER == "last_owner"
    assert TenantsError.MEMBER_EXISTS == "already_member" and TenantsError.SLUG_INVALID == "invalid_slug"
    assert LicensingError.FILE_SIGNATURE_INVALID == "bad_signature" and LicensingError.FILE_MALFORMED == "malformed"
    assert BillingError.PAYMENT_DECLINED == "payment_declined" and BillingError.SIGNATURE_INVALID == "bad_signature"
    assert [code.value for code in KitError] == [
        "conflict", "bad_credentials_key", "credentials_unreadable", "invalid", "not_found", "permission_denied",
        "quota_exceeded", "server_error", "unsafe_url"]
    assert [code.value for code in ValidationCode] == [
        "VALID", "NOT_FOUND", "SUSPENDED", "EXPIRED", "CANCELLED", "TOO_MANY_MACHINES",
        "FINGERPRINT_SCOPE_REQUIRED", "BANNED", "RATE_LIMITED"]
    for actions in (TenantsAction, LicensingAction, BillingAction):
        assert all(action.value.count(".") == 1 for action in actions)


def test_no_two_apps_write_the_same_audit_action():
    values = [a.value for a in TenantsAction] + [a.value for a in LicensingAction] + [a.value for a in BillingAction]
    assert len(values) == len(set(values))
