import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from cdp.context import Actor
from cdp.exceptions import ApplicationError
from tenants.models import AuditLog, Domain, Tenant
from tenants.services import tenant_update


def schema_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", [name])
        return cursor.fetchone() is not None


def test_provision_tenant_creates_schema_domain_and_settings(world, capsys):
    # when
    call_command("provision_tenant", "acme-shop", "--name", "ACME Shop", "--domain", "shop.acme.test",
                 "--type", "trial")
    # then
    tenant = Tenant.objects.get(slug="acme-shop")
    assert tenant.schema_name == "acme_shop" and schema_exists("acme_shop")
    assert tenant.type == "trial" and tenant.status == "active"
    assert tenant.settings["currency"] == "ARS" and tenant.settings["features"]["rfm_analysis"] is True
    assert set(Domain.objects.filter(tenant=tenant).values_list("domain", flat=True)) == {
        "acme-shop.localhost", "shop.acme.test"}
    assert tenant.get_primary_domain().domain == "acme-shop.localhost"
    assert AuditLog.objects.filter(action="tenant.provision", tenant=tenant).exists()
    assert "acme-shop.localhost" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["alpha", "--name", "Again"], "already exists"),
        (["Bad_Slug", "--name", "x"], "lowercase"),
        (["public", "--name", "x"], "reserved"),
        (["ok-slug", "--name", "  "], "name"),
        (["ok-slug", "--name", "x", "--domain", "not a host"], "not a valid host name"),
        (["ok-slug", "--name", "x", "--domain", "alpha.localhost"], "already belongs"),
    ],
)
def test_provision_tenant_errors_are_one_clear_line(world, args, message):
    with pytest.raises(CommandError) as excinfo:
        call_command("provision_tenant", *args)
    text = str(excinfo.value)
    assert message in text and "\n" not in text
    assert not Tenant.objects.filter(slug="ok-slug").exists() and not schema_exists("ok_slug")


def test_provision_tenant_exits_non_zero_from_the_shell(world):
    import subprocess
    import sys

    from django.conf import settings

    # The real command line, as scripts use it: a taken slug must exit 1 with one line on stderr.
    env = {"DJANGO_SETTINGS_MODULE": "cdp.settings.test", "PATH": "/usr/bin:/bin"}
    env.update({k: v for k, v in __import__("os").environ.items() if k.startswith(("CDP_", "DATABASE", "REDIS"))})
    env["DATABASE_URL"] = (
        f"postgresql://{settings.DATABASES['default']['USER']}@/{connection.settings_dict['NAME']}"
        f"?host={settings.DATABASES['default']['HOST']}"
    )
    result = subprocess.run([sys.executable, "manage.py", "provision_tenant", "Not Valid", "--name", "x"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("CommandError: ")


def test_tenant_settings_are_validated_and_merged(world):
    actor = Actor.system("tests")
    # a fresh instance: the shared world.alpha may carry settings other tests set in memory
    alpha = Tenant.objects.get(pk=world.alpha.pk)
    updated = tenant_update(tenant=alpha, actor=actor, settings={"currency": "BRL", "language": "pt"})
    assert updated.settings["currency"] == "BRL" and updated.settings["timezone"]  # merged, not replaced
    with pytest.raises(ApplicationError) as excinfo:
        tenant_update(tenant=Tenant.objects.get(pk=alpha.pk), actor=actor,
                      settings={"timezone": "Mars/Olympus", "currency": "reais", "max_customers": -1})
    assert set(excinfo.value.fields["settings"]) == {"timezone", "currency", "max_customers"}
    alpha.refresh_from_db()
    assert alpha.settings["currency"] == "BRL"
    entry = AuditLog.objects.filter(action="tenant.update", tenant=alpha).first()
    assert entry.changes["settings"][1]["currency"] == "BRL"


def test_audit_redact_rewrites_only_the_named_entries_of_the_tenant(world):
    from tenants.services import audit_record, audit_redact

    actor = Actor.system("test")
    entries = {
        "mine": audit_record(actor=actor, action="x", resource_type="customer", resource_id=7, tenant=world.alpha,
                             changes={"email": ["a@x.com", "b@x.com"]}),
        "other_id": audit_record(actor=actor, action="x", resource_type="customer", resource_id=8,
                                 tenant=world.alpha, changes={"email": ["c@x.com", None]}),
        "other_tenant": audit_record(actor=actor, action="x", resource_type="customer", resource_id=7,
                                     tenant=world.beta, changes={"email": ["a@x.com", None]}),
        "address": audit_record(actor=actor, action="x", resource_type="customer_address", resource_id=3,
                                tenant=world.alpha, changes={"line1": ["Calle 1", None]}),
    }

    redacted = audit_redact(tenant=world.alpha, resources={"customer": [7], "customer_address": [3]},
                            scrub=lambda changes: {key: [None, None] for key in changes})

    assert redacted == 2
    after = {name: AuditLog.objects.get(pk=entry.pk).changes for name, entry in entries.items()}
    assert after["mine"] == {"email": [None, None]} and after["address"] == {"line1": [None, None]}
    assert after["other_id"] == {"email": ["c@x.com", None]}
    assert after["other_tenant"] == {"email": ["a@x.com", None]}
