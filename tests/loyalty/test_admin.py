"""Loyalty in the tenant's admin: writes through the services, errors on the form (moved from
tests/customers/test_admin.py with the app; the admin's URLs now say ``loyalty``)."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from loyalty.models import LoyaltyTierRule


def test_a_tier_rule_refused_by_the_service_is_an_error_on_the_form(world, alpha_client):
    client = alpha_client(world.user("alpha_owner"))
    with tenant_context(world.alpha):
        gold = LoyaltyTierRule.objects.get(tier="gold")
    url = f"/admin/loyalty/loyaltytierrule/{gold.pk}/change/"

    answer = client.post(url, {"min_spend": "1", "min_points": "1", "multiplier": "1.5", "benefits": "{}"})

    assert answer.status_code == 200  # not "changed successfully" after an error
    assert answer.context["adminform"].form.errors["min_spend"] == [
        "Thresholds must not decrease from bronze to platinum."]
    with tenant_context(world.alpha):
        assert LoyaltyTierRule.objects.get(pk=gold.pk).min_spend == gold.min_spend
