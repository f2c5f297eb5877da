"""Customer search at 1,000,000 customers: the indexed, accent-folded word-prefix search
(customers/search.py) against the baseline it replaced (unindexed ILIKE over first and last name,
which also misses "Lucía" for "lucia"). Each sample is what the portal list and the API list do:
the count for the paginator and the first page of 25, newest first. Target: p95 under 100 ms.

Runs in its own temporary tenant, filled set-based with SQL (the search trigger fires on every
insert: the fill time includes its cost), then VACUUM (ANALYZE), then drops it.
BENCH_SEARCH_CUSTOMERS lowers the size for a quick look.
"""

from __future__ import annotations

import os
import statistics
import time

CUSTOMERS = int(os.environ.get("BENCH_SEARCH_CUSTOMERS", "1000000"))
ROUNDS = int(os.environ.get("BENCH_SEARCH_ROUNDS", "20"))
BASELINE_ROUNDS = int(os.environ.get("BENCH_SEARCH_BASELINE_ROUNDS", "3"))  # seconds per query: a few do

FIRST = ["Lucía", "Mateo", "Sofía", "Juan", "Ana", "Pedro", "Camila", "Diego", "Valentina", "Martín", "Isabella",
         "Tomás", "Julieta", "Nicolás", "Martina", "Joaquín", "Catalina", "Benjamín", "Renata", "Agustín", "Emilia",
         "Santiago", "Florencia", "Ignacio", "Paula", "Facundo", "Lorena", "Gonzalo", "Mariana", "Sebastián",
         "João", "Beatriz", "Gabriel", "Larissa", "Rafael", "Fernanda", "Lucas", "Letícia", "Thiago", "Bruna"]
LAST = ["González", "Pérez", "Silva", "Gómez", "Díaz", "Romero", "Souza", "Castro", "Rojas", "Fernández", "López",
        "Martínez", "Sánchez", "Ramírez", "Torres", "Flores", "Rivera", "Benítez", "Acosta", "Medina", "Herrera",
        "Suárez", "Aguirre", "Giménez", "Molina", "Ortiz", "Núñez", "Luna", "Cabrera", "Ríos", "Oliveira", "Santos",
        "Costa", "Pereira", "Almeida", "Carvalho", "Araújo", "Ribeiro", "Barbosa", "Moreira"]

FILL_SQL = """
INSERT INTO customers_customer (id, email, phone, document_type, document_number, first_name, last_name,
    gender, city, state, country, customer_type, status, marketing_consent, tags, metadata, notes, source,
    field_sources, total_orders, total_spent, avg_order_value, is_pseudonymized, created_at, updated_at)
SELECT g, translate(lower(f.n || '.' || l.n), '{ACCENTED}', '{PLAIN}') || g || '@example.com',
       '+54911' || lpad((g % 100000000)::text, 8, '0'), 'dni', NULL, f.n, l.n,
       '', 'Buenos Aires', '', 'AR', 'b2c', 'active', false, '{{}}', '{{}}', '', 'vtex', '{{}}', 0, 0, 0, false,
       now(), now()
  FROM generate_series(1, {CUSTOMERS}) g
  CROSS JOIN LATERAL (SELECT ({FIRST})[1 + (g * 7) % {NF}] AS n) f
  CROSS JOIN LATERAL (SELECT ({LAST})[1 + (g / {NF}) % {NL}] AS n) l;
SELECT setval(pg_get_serial_sequence('customers_customer', 'id'), {CUSTOMERS});
VACUUM (ANALYZE) customers_customer
"""

QUERIES = ["lucia", "Lucía Rojas", "lucia.rojas", "gonz", "joao silva", "20111222", "nobody-at-all", "mart"]


def _sql_array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _stats(samples: list[float]) -> str:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return f"p50 {pick(0.50):7.2f} ms  p95 {pick(0.95):7.2f} ms  (mean {statistics.mean(ordered) * 1000:.2f} ms)"


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp.settings.local")
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Q
    from django_tenants.utils import tenant_context

    from cdp.context import Actor
    from customers.models import Customer
    from customers.search import ACCENTED, PLAIN, customer_search

    from bench.common import documents_fill
    from tenants.services import tenant_provision

    def baseline(queryset, text):
        # What the list did before: unindexed ILIKE on first and last name, for every word.
        for word in text.split():
            queryset = queryset.filter(Q(first_name__icontains=word) | Q(last_name__icontains=word))
        return queryset

    def sample(search, text) -> tuple[float, int]:
        t0 = time.perf_counter()
        queryset = search(Customer.objects.order_by("-id"), text)
        total = queryset.count()
        list(queryset.values_list("id", flat=True)[:25])
        return time.perf_counter() - t0, total

    call_command("migrate_schemas", "--shared", verbosity=0)
    tenant = tenant_provision(slug=f"bench-search-{os.getpid()}", name="Bench search", actor=Actor.system("bench"))
    try:
        started = time.perf_counter()
        sql = (FILL_SQL.replace("{ACCENTED}", ACCENTED).replace("{PLAIN}", PLAIN)
               .replace("{FIRST}", _sql_array(FIRST)).replace("{LAST}", _sql_array(LAST))
               .replace("{NF}", str(len(FIRST))).replace("{NL}", str(len(LAST)))
               .replace("{CUSTOMERS}", str(CUSTOMERS)).replace("{{}}", "{}"))
        with tenant_context(tenant), connection.cursor() as cursor:
            for statement in filter(str.strip, sql.split(";\n")):
                cursor.execute(statement)
        print(f"filled {CUSTOMERS:,} customers (search trigger included) in {time.perf_counter() - started:.0f}s",
              flush=True)
        started = time.perf_counter()
        with tenant_context(tenant), connection.cursor() as cursor:
            documents_fill(cursor, CUSTOMERS)
        print(f"sealed and hashed {CUSTOMERS:,} documents in {time.perf_counter() - started:.0f}s", flush=True)
        with tenant_context(tenant):
            for name, search, rounds in (("indexed search (customers.search)", customer_search, ROUNDS),
                                         ("baseline: ILIKE on names, unindexed", baseline, BASELINE_ROUNDS)):
                sample(search, QUERIES[0])  # warm the connection and the caches
                print(f"{name}:")
                everything = []
                for text in QUERIES:
                    timings, total = [], 0
                    for _ in range(rounds):
                        seconds, total = sample(search, text)
                        timings.append(seconds)
                    everything += timings
                    print(f"  {text!r:<16} {total:>8,} found  {_stats(timings)}", flush=True)
                print(f"  all queries: {_stats(everything)}  target p95 < 100 ms", flush=True)
    finally:
        connection.set_schema_to_public()
        tenant.delete(force_drop=True)


if __name__ == "__main__":
    main()
