"""``make run``'s newcomer path: the banner says who signs in, where the password is and how to
get a new one; ``manage.py reset_password`` gives one."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from cdp import registry
from tenants import banner
from tenants.management.commands import reset_password
from tenants.models import AuditLog
from tests.conftest import PASSWORD


@pytest.fixture
def password_file(tmp_path, monkeypatch):
    path = tmp_path / "secrets" / "admin-password"
    monkeypatch.setattr(reset_password, "admin_password_path", lambda: path)
    monkeypatch.setattr(reset_password, "local_secret_write", lambda name, value: (
        path.parent.mkdir(exist_ok=True), path.write_text(value + "\n"), path)[-1])
    monkeypatch.setattr(banner, "admin_password_path", lambda: path)
    return path


def test_reset_password_gives_the_admin_a_new_one_and_keeps_it_in_the_secrets(world, settings, password_file):
    # given the bootstrap superuser (here: the world's staff user)
    settings.CDP_ADMIN_EMAIL = world.staff.email
    out, err = io.StringIO(), io.StringIO()
    # when the command runs (the e-mail's case does not matter)
    call_command("reset_password", world.staff.email.upper(), stdout=out, stderr=err)
    # then the printed password works, the old one does not, it is in the file, and it is audited
    new = out.getvalue().strip()
    assert new and authenticate(username=world.staff.email, password=new) is not None
    assert authenticate(username=world.staff.email, password=PASSWORD) is None
    assert password_file.read_text().strip() == new and str(password_file) in err.getvalue()
    entry = AuditLog.objects.filter(action="user.password_set", resource_id=str(world.staff.pk)).get()
    assert new not in str(entry.changes)


def test_reset_password_of_someone_else_is_printed_only(world, settings, password_file):
    out = io.StringIO()
    call_command("reset_password", "viewer@alpha.test", stdout=out, stderr=io.StringIO())
    assert authenticate(username="viewer@alpha.test", password=out.getvalue().strip()) is not None
    assert not password_file.exists()


def test_reset_password_of_nobody_is_one_readable_line(world):
    with pytest.raises(CommandError, match="No account with the e-mail 'nobody@example.com'"):
        call_command("reset_password", "nobody@example.com", stdout=io.StringIO(), stderr=io.StringIO())


def test_the_run_banner_says_who_signs_in_where_the_password_is_and_how_to_reset_it(settings, password_file):
    settings.CDP_ADMIN_EMAIL = "admin@cdp.localhost"
    password_file.parent.mkdir()
    password_file.write_text("x\n")
    lines = "\n".join(registry.run_banner_lines())  # what manage.py serve prints
    assert "admin@cdp.localhost" in lines and str(password_file) in lines
    assert "make reset-password" in lines and "separate sites" in lines
