"""Every tenant gets its loyalty program and tier rules with the schema, so that reading them
never writes (``loyalty_program_get`` used to create them on first read, from GET requests and
admin lists). New tenants also get them from ``customers.receivers.on_tenant_schema_created``;
this creates them for the tenants that never used loyalty. The defaults are those of
``customers.selectors.loyalty.loyalty_defaults`` when this was written (a migration keeps its
own copy: the code may change, this step must not)."""

from decimal import ROUND_DOWN, Decimal

from django.db import migrations
from django_tenants.utils import get_public_schema_name

CURRENCY_SCALE = {"USD": 1, "EUR": 1, "ARS": 1000, "BRL": 5, "MXN": 20, "CLP": 1000, "COP": 4000, "PEN": 4,
                  "UYU": 40, "PYG": 7500, "BOB": 7, "GTQ": 8, "CRC": 500, "DOP": 60}
DEFAULT_TIERS = (("bronze", 0, 0, "1.00"), ("silver", 1, 500, "1.25"), ("gold", 2, 2000, "1.50"),
                 ("platinum", 3, 5000, "2.00"))
DEFAULT_CURRENCY = "ARS"  # tenants.models.DEFAULT_TENANT_SETTINGS


def _tenant_currency(connection) -> str:
    # Migrations run with the tenant's schema alone on the search path: the tenant row is read
    # from the public schema by its qualified name.
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT settings ->> %s FROM "{get_public_schema_name()}".tenants_tenant '
                       "WHERE schema_name = %s", ["currency", connection.schema_name])
        row = cursor.fetchone()
    return ((row[0] if row else None) or DEFAULT_CURRENCY).upper()


def loyalty_defaults_create(apps, schema_editor):
    LoyaltyProgram = apps.get_model("customers", "LoyaltyProgram")
    LoyaltyTierRule = apps.get_model("customers", "LoyaltyTierRule")
    scale = Decimal(CURRENCY_SCALE.get(_tenant_currency(schema_editor.connection), 1))
    if not LoyaltyProgram.objects.exists():
        rate = max((Decimal(1) / scale).quantize(Decimal("0.0001"), rounding=ROUND_DOWN), Decimal("0.0001"))
        LoyaltyProgram.objects.create(points_per_currency_unit=rate)
    LoyaltyTierRule.objects.bulk_create(
        [LoyaltyTierRule(tier=tier, rank=rank, min_spend=Decimal(usd) * scale, min_points=usd,
                         multiplier=Decimal(multiplier)) for tier, rank, usd, multiplier in DEFAULT_TIERS],
        ignore_conflicts=True)


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0008_drop_duplicate_foreign_key_indexes"),
    ]

    operations = [
        migrations.RunPython(loyalty_defaults_create, migrations.RunPython.noop),
    ]
