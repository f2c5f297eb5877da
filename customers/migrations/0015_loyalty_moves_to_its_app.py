"""Loyalty's models (program, tier rules, accounts, ledger) moved to their own app, ``loyalty``
(issue #15). Only Django's idea of which app owns them changes: their tables keep their names
(``customers_loyalty*``, see ``loyalty.models``) and their rows, so the database is untouched
(``database_operations`` is empty). ``loyalty.0001_initial`` adds them to loyalty's state the same
way, after this."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0014_customer_search"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.RemoveField(
                    model_name='loyaltyaccount',
                    name='customer',
                ),
                migrations.RemoveField(
                    model_name='loyaltytransaction',
                    name='account',
                ),
                migrations.DeleteModel(
                    name='LoyaltyProgram',
                ),
                migrations.DeleteModel(
                    name='LoyaltyTierRule',
                ),
                migrations.RemoveField(
                    model_name='loyaltytransaction',
                    name='order',
                ),
                migrations.DeleteModel(
                    name='LoyaltyAccount',
                ),
                migrations.DeleteModel(
                    name='LoyaltyTransaction',
                ),
            ],
        ),
    ]
