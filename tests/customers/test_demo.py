"""Demo data: the demo store's history, loaded idempotently."""

from __future__ import annotations

from django.core.management import call_command
from django_tenants.utils import tenant_context

from customers.models import Customer, Order


def test_demo_data_is_idempotent_and_has_duplicates_by_design(world, capsys):
    call_command("load_demo_data", "--tenant", "alpha", "--customers", "60")
    first = capsys.readouterr().out
    call_command("load_demo_data", "--tenant", "alpha", "--customers", "60")
    second = capsys.readouterr().out

    assert "0 rejected" in first and "0 created" not in first
    assert "0 created, 0 updated" in second
    with tenant_context(world.alpha):
        assert {"vtex", "mercadolibre", "shopify"} <= set(Order.objects.values_list("source", flat=True))
        # one in fifty people also used a second email: a second profile with the same name and phone
        assert Customer.objects.filter(email__endswith="@correo.example").exists()
        # marketplace buyers without email were unified by document, not duplicated
        assert Customer.objects.filter(identities__source="mercadolibre", email__isnull=False).exists()
