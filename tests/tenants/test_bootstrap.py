"""``manage.py bootstrap`` (what ``make run`` calls): platform tenant, demo tenant, superuser."""

from io import StringIO

from django.core.management import call_command

from tenants.models import AuditLog, Domain, Membership, Tenant, User


def test_bootstrap_takes_the_admin_from_settings_and_writes_through_services(world, settings):
    # given the environment's CDP_ADMIN_* variables, which the settings module copies into settings
    settings.CDP_ADMIN_EMAIL = "ops@example.com"
    settings.CDP_ADMIN_PASSWORD = "Correct-Horse-42-ops"
    out = StringIO()
    # when
    call_command("bootstrap", "--no-demo-data", stdout=out)
    # then the platform's hosts stay where they were, the demo tenant and its owner exist
    assert Domain.objects.get(domain="localhost").tenant == world.public
    demo = Tenant.objects.get(slug="demo")
    admin = User.objects.get(email="ops@example.com")
    assert admin.is_superuser and admin.check_password("Correct-Horse-42-ops")
    assert Membership.objects.get(user=admin, tenant=demo).role == "owner"
    assert "password from CDP_ADMIN_PASSWORD" in out.getvalue()
    assert AuditLog.objects.filter(action="user.create", resource_id=str(admin.pk)).exists()
    # and running it again changes nothing
    call_command("bootstrap", "--no-demo-data", stdout=StringIO())
    assert User.objects.filter(email="ops@example.com").count() == 1 and Tenant.objects.filter(slug="demo").count() == 1


def test_platform_hosts_are_added_once_and_audited(world):
    from cdp.context import Actor
    from tenants.services import platform_tenant_ensure

    public = platform_tenant_ensure(hosts=("localhost", "platform.test"), actor=Actor.system("tests"))
    assert public == world.public
    assert Domain.objects.get(domain="platform.test").tenant == world.public
    entry = AuditLog.objects.get(action="tenant.provision", resource_id=str(public.pk))
    assert entry.changes == {"slug": "platform", "domains": ["platform.test"]}
    platform_tenant_ensure(hosts=("localhost", "platform.test"), actor=Actor.system("tests"))
    assert AuditLog.objects.filter(action="tenant.provision", resource_id=str(public.pk)).count() == 1
