"""Loyalty's models, moved here from ``customers`` (issue #15): state only. The tables exist since
``customers.0001`` under the names they keep (``Meta.db_table``), with their rows, constraints and
indexes (``customers.0008`` dropped the account foreign key's own index, which
``loyalty_txn_account_idx`` covers; ``customers.0009`` created each tenant's program and tiers),
so ``database_operations`` is empty; ``customers.0011`` removed them from customers' state first.

The content types follow (same ids: the tenant admin's history and the permissions granted on these
models stay attached), unless loyalty's were already created, in which case customers' are left
for ``remove_stale_contenttypes``."""

import django.db.models.deletion
from django.db import migrations, models

MODELS = ("loyaltyprogram", "loyaltytierrule", "loyaltyaccount", "loyaltytransaction")


def content_types_follow(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        if not ContentType.objects.filter(app_label="loyalty", model=model).exists():
            ContentType.objects.filter(app_label="customers", model=model).update(app_label="loyalty")


def content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        if not ContentType.objects.filter(app_label="customers", model=model).exists():
            ContentType.objects.filter(app_label="loyalty", model=model).update(app_label="customers")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("customers", "0015_loyalty_moves_to_its_app"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='LoyaltyProgram',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('name', models.CharField(default='Loyalty', max_length=100)),
                        ('is_active', models.BooleanField(default=True)),
                        ('points_per_currency_unit', models.DecimalField(decimal_places=4, default=1, max_digits=10)),
                        ('points_validity_days', models.PositiveIntegerField(default=365, help_text='0 means points never expire.')),
                        ('tier_basis', models.CharField(choices=[('spend', 'Rolling spend'), ('points', 'Rolling points earned')], default='spend', max_length=10)),
                        ('tier_window_days', models.PositiveIntegerField(default=365, help_text='Rolling window for tier evaluation.')),
                    ],
                    options={
                        'verbose_name': 'loyalty program',
                        'db_table': 'customers_loyaltyprogram',
                    },
                ),
                migrations.CreateModel(
                    name='LoyaltyAccount',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('points_balance', models.IntegerField(default=0)),
                        ('lifetime_points', models.IntegerField(default=0)),
                        ('points_redeemed', models.IntegerField(default=0)),
                        ('points_expired', models.IntegerField(default=0)),
                        ('tier', models.CharField(choices=[('bronze', 'Bronze'), ('silver', 'Silver'), ('gold', 'Gold'), ('platinum', 'Platinum')], default='bronze', max_length=10)),
                        ('tier_since', models.DateField(blank=True, null=True)),
                        ('tier_evaluated_at', models.DateTimeField(blank=True, null=True)),
                        ('rolling_spend', models.DecimalField(decimal_places=2, default=0, max_digits=15)),
                        ('rolling_points', models.IntegerField(default=0)),
                        ('customer', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='loyalty_account', to='customers.customer')),
                    ],
                    options={
                        'db_table': 'customers_loyaltyaccount',
                        'ordering': ['-points_balance', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='LoyaltyTierRule',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('tier', models.CharField(choices=[('bronze', 'Bronze'), ('silver', 'Silver'), ('gold', 'Gold'), ('platinum', 'Platinum')], max_length=10, unique=True)),
                        ('rank', models.PositiveSmallIntegerField(help_text='0 = bronze … 3 = platinum.', unique=True)),
                        ('min_spend', models.DecimalField(decimal_places=2, default=0, max_digits=15)),
                        ('min_points', models.PositiveIntegerField(default=0)),
                        ('multiplier', models.DecimalField(decimal_places=2, default=1, max_digits=5)),
                        ('benefits', models.JSONField(blank=True, default=dict)),
                    ],
                    options={
                        'db_table': 'customers_loyaltytierrule',
                        'ordering': ['rank'],
                        'constraints': [models.CheckConstraint(condition=models.Q(('multiplier__gt', 0)), name='tierrule_multiplier_gt_0')],
                    },
                ),
                migrations.CreateModel(
                    name='LoyaltyTransaction',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('type', models.CharField(choices=[('earn', 'Earn'), ('redeem', 'Redeem'), ('expire', 'Expire'), ('adjust', 'Adjust'), ('bonus', 'Bonus')], max_length=10)),
                        ('points', models.IntegerField(help_text='Signed: positive credits, negative debits.')),
                        ('remaining', models.IntegerField(default=0, help_text='Credits not yet redeemed or expired (FIFO).')),
                        ('expires_at', models.DateTimeField(blank=True, null=True)),
                        ('reference', models.CharField(blank=True, max_length=255)),
                        ('description', models.CharField(blank=True, max_length=255)),
                        ('metadata', models.JSONField(blank=True, default=dict)),
                        ('created_by', models.CharField(blank=True, max_length=255)),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('account', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='transactions', to='loyalty.loyaltyaccount')),
                        ('order', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='customers.order')),
                    ],
                    options={
                        'db_table': 'customers_loyaltytransaction',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.AddIndex(
                    model_name='loyaltyaccount',
                    index=models.Index(fields=['tier'], name='loyalty_account_tier_idx'),
                ),
                migrations.AddConstraint(
                    model_name='loyaltyaccount',
                    constraint=models.CheckConstraint(condition=models.Q(('points_balance__gte', 0)), name='loyalty_balance_gte_0'),
                ),
                migrations.AddIndex(
                    model_name='loyaltytransaction',
                    index=models.Index(fields=['account', '-created_at'], name='loyalty_txn_account_idx'),
                ),
                migrations.AddIndex(
                    model_name='loyaltytransaction',
                    index=models.Index(condition=models.Q(('remaining__gt', 0)), fields=['expires_at'], name='loyalty_txn_expiring_idx'),
                ),
                migrations.AddConstraint(
                    model_name='loyaltytransaction',
                    constraint=models.UniqueConstraint(condition=models.Q(('type', 'earn')), fields=('order',), name='uniq_loyalty_earn_per_order'),
                ),
                migrations.AddConstraint(
                    model_name='loyaltytransaction',
                    constraint=models.CheckConstraint(condition=models.Q(('remaining__gte', 0)), name='loyalty_txn_remaining_gte_0'),
                ),
                migrations.AddConstraint(
                    model_name='loyaltytransaction',
                    constraint=models.CheckConstraint(condition=models.Q(('remaining', 0), models.Q(('points__gt', 0), ('remaining__lte', models.F('points'))), _connector='OR'), name='loyalty_txn_remaining_within_points'),
                ),
            ],
        ),
        migrations.RunPython(content_types_follow, content_types_back),
    ]
