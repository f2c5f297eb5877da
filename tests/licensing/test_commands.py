from __future__ import annotations

import datetime
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from licensing import keys
from licensing.models import License
from licensing.selectors import license_get_by_key
from tenants.models import AuditLog


def run(*args) -> str:
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue()


def test_issue_license_prints_the_key_alone_on_the_last_line(world, validate):
    out = run("issue_license", "--tenant", "alpha", "--plan", "professional", "--max-machines", "4",
              "--expires", "2999-12-31")
    key = out.strip().splitlines()[-1]
    assert keys.normalize(key) == key and " " not in key
    license = License.objects.get(key_hash=keys.key_hash(key))
    assert license.tenant == world.alpha and license.plan.code == "professional" and license.max_machines == 4
    # valid through the whole of that day, UTC
    assert license.expires_at == datetime.datetime(3000, 1, 1, tzinfo=datetime.UTC)
    assert key not in license.key_hash and license.key_prefix == key[:10]
    assert AuditLog.objects.filter(action="license.issue", resource_id=str(license.pk)).exists()
    assert validate(key).json()["meta"]["code"] == "VALID"


def test_issue_license_trial(world):
    key = run("issue_license", "--tenant", "beta", "--plan", "starter", "--trial").strip().splitlines()[-1]
    license = license_get_by_key(key=key)
    assert license.status == "trial" and license.expires_at is not None


@pytest.mark.parametrize("args, message", [
    (["--tenant", "nope", "--plan", "starter"], r"^Unknown tenant 'nope'\.$"),
    (["--tenant", "alpha", "--plan", "gold"], "Unknown plan 'gold'"),
    (["--tenant", "alpha", "--plan", "starter", "--expires", "31/12/2030"], "YYYY-MM-DD"),
    (["--tenant", "alpha", "--plan", "starter", "--expires", "2001-01-01"], "in the future"),
    (["--tenant", "alpha", "--plan", "starter", "--max-machines", "0"], "At least one machine"),
])
def test_issue_license_errors_are_one_readable_line(world, args, message):
    with pytest.raises(CommandError, match=message) as excinfo:
        run("issue_license", *args)
    assert "\n" not in str(excinfo.value)


def test_suspend_and_reinstate_commands(world, issue, validate):
    license = issue(world.alpha)
    assert "suspended" in run("suspend_license", license.key)
    assert validate(license.key).json()["meta"]["code"] == "SUSPENDED"
    assert "active" in run("reinstate_license", license.key)
    assert validate(license.key).json()["meta"]["code"] == "VALID"
    with pytest.raises(CommandError, match="Only a suspended license"):
        run("reinstate_license", license.key)
    with pytest.raises(CommandError, match="No license matches"):
        run("suspend_license", "CDPL-WRONG")


def test_offline_license_file_round_trip(world, issue, tmp_path, public_client):
    license = issue(world.alpha, "professional")
    path = tmp_path / "license.json"
    run("export_license_file", license.key, "--days", "7", "--fingerprint", "box-1", "--output", str(path))
    pem_path = tmp_path / "public.pem"
    pem_path.write_text(public_client().get("/api/v1/licenses/public-key/").json()["public_key"])
    out = run("verify_license_file", str(path), "--public-key", str(pem_path))
    assert "VALID: professional license" in out
    # a tampered payload fails the signature check
    document = json.loads(path.read_text())
    import base64

    payload = json.loads(base64.b64decode(document["payload"]))
    payload["license"]["max_machines"] = 9999
    document["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    path.write_text(json.dumps(document))
    with pytest.raises(CommandError, match="bad_signature"):
        run("verify_license_file", str(path))
    path.write_text("{nope")
    with pytest.raises(CommandError, match="malformed"):
        run("verify_license_file", str(path))


def test_offline_file_expiry_and_inactive_license(world, issue):
    from cdp.context import Actor
    from cdp.exceptions import ApplicationError
    from licensing.services import license_file_issue, license_file_verify, license_suspend

    license = issue(world.alpha)
    content = license_file_issue(license=license, actor=Actor.system("tests"), days=1)
    payload = license_file_verify(content=content)
    assert payload["license"]["key_prefix"] == license.key_prefix
    later = datetime.datetime.fromisoformat(payload["expires_at"])
    with pytest.raises(ApplicationError) as excinfo:
        license_file_verify(content=content, now=later)
    assert excinfo.value.code == "file_expired"
    license_suspend(license=license, actor=Actor.system("tests"))
    license.refresh_from_db()
    with pytest.raises(ApplicationError) as excinfo:
        license_file_issue(license=license, actor=Actor.system("tests"))
    assert excinfo.value.code == "license_inactive"
