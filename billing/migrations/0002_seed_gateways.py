"""The built-in sandbox gateway (active) and the Stripe-compatible adapter (inactive until its
secret key is configured), plus the invoice and credit-note counters."""

from django.db import migrations

GATEWAYS = [
    {"code": "sandbox", "name": "Sandbox (test tokens)", "kind": "sandbox", "is_active": True},
    {"code": "stripe", "name": "Stripe", "kind": "stripe", "is_active": False},
]


def seed(apps, schema_editor):
    Gateway = apps.get_model("billing", "PaymentGateway")
    Counter = apps.get_model("billing", "DocumentCounter")
    for values in map(dict, GATEWAYS):
        Gateway.objects.get_or_create(code=values.pop("code"), defaults=values)
    for series in ("INV", "CN"):
        Counter.objects.get_or_create(series=series)


def unseed(apps, schema_editor):
    apps.get_model("billing", "PaymentGateway").objects.filter(code__in=["sandbox", "stripe"]).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
