"""Maintenance for the hot tables of each tenant (issue #19, seed 000's "Estadísticas y Vacuuming").

Autovacuum: PostgreSQL's defaults wait until 20% of a table changed before vacuuming and 10%
before analyzing. A customer row is rewritten by every ingest that touches it (aggregates: totals,
last purchase), so a million-customer table would carry 200,000 dead rows and plans made on stale
numbers: vacuum at 5% and analyze at 2% of it. Orders are mostly inserted (and their statuses
updated later): analyze at 2% so the date and status histograms follow the newest orders,
and vacuum inserted pages (visibility map, index-only scans) at 5% instead of 20%.

Extended statistics: the planner multiplies the selectivities of conditions on different columns
as if they were independent. They are not here:
- orders' ``source`` and ``status``: each connector has its own status vocabulary, and analytics
  (``counted_orders_sql``) and the order list filter on both;
- customers' ``country``, ``customer_type`` and ``status``: B2B customers cluster by country, and
  the customer list and segment rules filter on these together.
Functional dependencies and distinct counts on them keep row estimates (and so join orders and
memory grants) right."""

from django.db import migrations

FORWARD = [
    "ALTER TABLE customers_customer SET (autovacuum_vacuum_scale_factor = 0.05, "
    "autovacuum_analyze_scale_factor = 0.02)",
    "ALTER TABLE customers_order SET (autovacuum_vacuum_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.02, "
    "autovacuum_vacuum_insert_scale_factor = 0.05)",
    "CREATE STATISTICS IF NOT EXISTS customers_order_source_status_stats (dependencies, ndistinct) "
    "ON source, status FROM customers_order",
    "CREATE STATISTICS IF NOT EXISTS customers_customer_country_type_status_stats (dependencies, ndistinct) "
    "ON country, customer_type, status FROM customers_customer",
]
BACKWARD = [
    "DROP STATISTICS IF EXISTS customers_customer_country_type_status_stats",
    "DROP STATISTICS IF EXISTS customers_order_source_status_stats",
    "ALTER TABLE customers_order RESET (autovacuum_vacuum_scale_factor, autovacuum_analyze_scale_factor, "
    "autovacuum_vacuum_insert_scale_factor)",
    "ALTER TABLE customers_customer RESET (autovacuum_vacuum_scale_factor, autovacuum_analyze_scale_factor)",
]


class Migration(migrations.Migration):

    dependencies = [("customers", "0009_loyalty_program_defaults")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
