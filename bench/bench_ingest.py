"""Bulk import of 1,000,000 orders for 250,000 customers from one CSV, through the same path as
``import_orders`` uses for big files (customers.services.bulk.orders_bulk_load), measured beside a
bare PostgreSQL COPY of the same file into an unindexed table. Target: 20,000 orders/s or more.

Runs in its own temporary tenant (schema) and drops it afterwards. Sizes can be lowered for a
quick look: BENCH_INGEST_ORDERS=100000 BENCH_INGEST_CUSTOMERS=25000 make bench BENCH_ARGS=bench_ingest
"""

from __future__ import annotations

import csv
import os
import random
import tempfile
import time
from pathlib import Path

ORDERS = int(os.environ.get("BENCH_INGEST_ORDERS", "1000000"))
CUSTOMERS = int(os.environ.get("BENCH_INGEST_CUSTOMERS", "250000"))
HEADER = ["source", "external_order_id", "order_date", "status", "currency", "total_amount", "subtotal",
          "shipping_cost", "payment_method", "customer_email", "customer_external_id", "customer_first_name",
          "customer_last_name", "customer_phone", "customer_document_type", "customer_document_number",
          "customer_city", "customer_country"]
FIRST = ["Lucía", "Sofía", "Valentina", "Martina", "Camila", "Mateo", "Santiago", "Benjamín", "Thiago", "Joaquín",
         "Isabella", "Emma", "Juan", "María", "José", "Ana", "Pedro", "Gabriel", "Laura", "Diego"]
LAST = ["González", "Rodríguez", "Gómez", "Fernández", "López", "Díaz", "Martínez", "Pérez", "García", "Sánchez",
        "Romero", "Sosa", "Torres", "Álvarez", "Ruiz", "Silva", "Souza", "Oliveira", "Hernández", "Castro"]
PLACES = [("Buenos Aires", "AR", "dni"), ("Córdoba", "AR", "dni"), ("São Paulo", "BR", "cpf"),
          ("Rio de Janeiro", "BR", "cpf"), ("Ciudad de México", "MX", "curp"), ("Santiago", "CL", "rut"),
          ("Bogotá", "CO", "cc"), ("Lima", "PE", "dni"), ("Montevideo", "UY", "ci")]
SOURCES = ["vtex", "mercadolibre", "shopify", "pos"]
STATUSES = ["completed"] * 16 + ["paid", "invoiced", "cancelled", "refunded"]


def generate_csv(path: Path, orders: int, customers: int, seed: int = 7) -> None:
    # After django.setup() (as every import of the project here): documents that pass their check
    # digits, as the import refuses the others.
    from customers.demo import demo_document

    rng = random.Random(seed)
    people = []
    for n in range(customers):
        city, country, doc_type = PLACES[n % len(PLACES)]
        people.append((
            f"cliente{n}@example.com" if n % 10 else "",  # one in ten has no email
            FIRST[n % 20], LAST[(n // 20) % 20], f"11 {4000 + n % 5000:04d} {n % 10000:04d}", doc_type,
            demo_document(doc_type, n, country) if n % 3 else "", city, country,
        ))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(orders):
            person = n % customers
            email, first, last, phone, doc_type, doc, city, country = people[person]
            source = SOURCES[(person + n // customers) % 2] if person % 4 else SOURCES[2 + person % 2]
            day = 1 + rng.randrange(700)
            total = rng.randrange(1000, 500000) / 100
            writer.writerow([
                source, f"{source}-{n}", f"2023-{1 + day // 60 % 12:02d}-{1 + day % 28:02d}T{day % 24:02d}:15:00-03:00",
                STATUSES[n % len(STATUSES)], "ARS", f"{total:.2f}", f"{total * 0.9:.2f}", "150.00",
                "credit_card" if n % 3 else "pix", email, f"{source[:2]}-{person}", first, last, phone,
                doc_type if doc else "", doc, city, country,
            ])


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp.settings.local")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import tenant_context

    from cdp import registry
    from cdp.context import Actor
    from customers.models import Customer, Order
    from customers.services.bulk import orders_bulk_load
    from tenants.services import tenant_provision

    settings.DEBUG = False  # no query log
    call_command("migrate_schemas", "--shared", verbosity=0)
    actor = Actor.system("bench")
    slug = f"bench-ingest-{os.getpid()}"
    workdir = Path(tempfile.mkdtemp(prefix="cdp-bench-ingest-"))
    path = workdir / "orders.csv"
    print(f"generating {ORDERS:,} orders for {CUSTOMERS:,} customers...", flush=True)
    started = time.perf_counter()
    generate_csv(path, ORDERS, CUSTOMERS)
    print(f"  {path.stat().st_size / 1e6:,.0f} MB in {time.perf_counter() - started:.1f}s", flush=True)

    tenant = tenant_provision(slug=slug, name="Bench ingest", actor=actor)
    try:
        # Plan quotas are licensing's business, not what this measures.
        with registry.quota_guards_disabled(), tenant_context(tenant):
            with connection.cursor() as cursor:
                cursor.execute("CREATE TABLE bench_copy_baseline (" + ", ".join(f"{c} text" for c in HEADER) + ")")
            started = time.perf_counter()
            with connection.cursor() as cursor, open(path, "rb") as handle, cursor.cursor.copy(
                    "COPY bench_copy_baseline FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
                while chunk := handle.read(1 << 20):
                    copy.write(chunk)
            copy_seconds = time.perf_counter() - started

            started = time.perf_counter()
            result = orders_bulk_load(path=path, actor=actor, tenant=tenant, default_source="import")
            load_seconds = time.perf_counter() - started
            customers, orders = Customer.objects.count(), Order.objects.count()
        print(f"bare COPY into an unindexed table: {ORDERS / copy_seconds:>10,.0f} orders/s  ({copy_seconds:.1f}s)")
        print(f"import (normalize, unify, upsert): {ORDERS / load_seconds:>10,.0f} orders/s  ({load_seconds:.1f}s)"
              f"  target >= 20,000")
        print(f"  ratio to bare COPY: {load_seconds / copy_seconds:.1f}x;  result {result.as_dict()};"
              f"  {customers:,} customers, {orders:,} orders stored")
    finally:
        connection.set_schema_to_public()
        tenant.delete(force_drop=True)
        path.unlink(missing_ok=True)
        workdir.rmdir()


if __name__ == "__main__":
    main()
