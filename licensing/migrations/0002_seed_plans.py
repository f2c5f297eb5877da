"""The three plans the product sells (seed 004): limits, features and collision policy."""

from decimal import Decimal

from django.db import migrations

PLANS = [
    {
        "code": "starter", "name": "Starter", "sort_order": 1, "price_monthly": Decimal("49.00"),
        "description": "For a single store getting started.",
        "limit_users": 5, "limit_customers": 10_000, "limit_api_calls_per_month": 100_000,
        "limit_ai_requests_per_month": 1_000, "limit_storage_gb": 10,
        "features": {"rfm_analysis": True, "clv_prediction": False, "churn_detection": False, "api_access": True,
                     "beta_releases": False, "offline_files": False},
        "default_max_machines": 2, "trial_days": 14,
        "collision_window_minutes": 60, "collision_ip_allowance": 3, "collision_fingerprint_slack": 1,
        "collision_action": "suspend",
    },
    {
        "code": "professional", "name": "Professional", "sort_order": 2, "price_monthly": Decimal("199.00"),
        "description": "For growing brands with several stores and analysts.",
        "limit_users": 25, "limit_customers": 250_000, "limit_api_calls_per_month": 1_000_000,
        "limit_ai_requests_per_month": 10_000, "limit_storage_gb": 100,
        "features": {"rfm_analysis": True, "clv_prediction": True, "churn_detection": True, "api_access": True,
                     "beta_releases": True, "offline_files": True},
        "default_max_machines": 10, "trial_days": 14,
        "collision_window_minutes": 60, "collision_ip_allowance": 10, "collision_fingerprint_slack": 3,
        "collision_action": "suspend",
    },
    {
        "code": "enterprise", "name": "Enterprise", "sort_order": 3, "price_monthly": Decimal("999.00"),
        "description": "Unlimited users and customers; collisions are reported, never auto-suspended.",
        "limit_users": None, "limit_customers": None, "limit_api_calls_per_month": 10_000_000,
        "limit_ai_requests_per_month": 100_000, "limit_storage_gb": 1000,
        "features": {"rfm_analysis": True, "clv_prediction": True, "churn_detection": True, "api_access": True,
                     "beta_releases": True, "offline_files": True},
        "default_max_machines": 100, "trial_days": 30,
        "collision_window_minutes": 60, "collision_ip_allowance": 50, "collision_fingerprint_slack": 10,
        "collision_action": "record",
    },
]


def seed(apps, schema_editor):
    Plan = apps.get_model("licensing", "Plan")
    for values in PLANS:
        values = dict(values)
        Plan.objects.update_or_create(code=values.pop("code"), defaults=values)


def unseed(apps, schema_editor):
    apps.get_model("licensing", "Plan").objects.filter(code__in=[p["code"] for p in PLANS], licenses=None).delete()


class Migration(migrations.Migration):
    dependencies = [("licensing", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
