"""Realistic LATAM demo data for one tenant, loaded through the ingest service (idempotent:
orders are keyed by source and external id, so running it again changes nothing within a month).

Several sources (vtex, mercadolibre, shopify, pos) know the same people in different ways, and
some duplicates are there by design: emails in odd case and spacing, marketplace buyers known only
by document, and a few people who used two emails (fuzzy-duplicate candidates)."""

from __future__ import annotations

import datetime
import random

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django_tenants.utils import tenant_context

from cdp.context import Actor
from cdp.exceptions import ApplicationError
from customers.services import MAX_BATCH, order_ingest
from tenants.models import Tenant

FIRST = ["Lucía", "Sofía", "Valentina", "Martina", "Camila", "Mateo", "Santiago", "Benjamín", "Thiago", "Joaquín",
         "Isabella", "Emma", "Juan", "María", "José", "Ana", "Pedro", "Gabriel", "Laura", "Diego", "Florencia",
         "Agustín", "Renata", "Tomás", "Julieta", "Facundo", "Paula", "Nicolás", "Carolina", "Bruno"]
LAST = ["González", "Rodríguez", "Gómez", "Fernández", "López", "Díaz", "Martínez", "Pérez", "García", "Sánchez",
        "Romero", "Sosa", "Torres", "Álvarez", "Ruiz", "Silva", "Souza", "Oliveira", "Hernández", "Castro",
        "Acosta", "Medina", "Herrera", "Suárez", "Rojas", "Molina", "Ortiz", "Vargas", "Ramos", "Mendoza"]
PLACES = [("Buenos Aires", "CABA", "AR", "dni", "C1043", "Av. Corrientes"), ("Córdoba", "Córdoba", "AR", "dni",
          "X5000", "Bv. San Juan"), ("Rosario", "Santa Fe", "AR", "dni", "S2000", "Calle Córdoba"),
          ("São Paulo", "SP", "BR", "cpf", "01310-100", "Av. Paulista"), ("Ciudad de México", "CDMX", "MX", "curp",
          "06600", "Paseo de la Reforma"), ("Santiago", "RM", "CL", "rut", "8320000", "Av. Providencia"),
          ("Bogotá", "Cundinamarca", "CO", "cc", "110111", "Carrera 7"), ("Montevideo", "Montevideo", "UY", "ci",
          "11000", "Av. 18 de Julio")]
PRODUCTS = [("YERBA-1K", "Yerba mate 1 kg", 4500), ("MATE-CAL", "Mate de calabaza", 12000),
            ("TERMO-1L", "Termo acero 1 L", 38000), ("ALFA-12", "Alfajores x12", 9000),
            ("DULCE-LE", "Dulce de leche 400 g", 3200), ("CAFE-500", "Café en grano 500 g", 15500),
            ("BOMBI-AC", "Bombilla de acero", 5200), ("VINO-MAL", "Malbec reserva", 21000)]
SOURCES = ["vtex", "mercadolibre", "shopify", "pos"]
PAYMENTS = ["credit_card", "debit_card", "mercadopago", "pix", "cash", "bank_transfer"]


def demo_records(*, customers: int = 1200, seed: int = 2024, anchor: datetime.datetime) -> list[dict]:
    rng = random.Random(seed)
    records = []
    for n in range(customers):
        first, last = FIRST[rng.randrange(len(FIRST))], LAST[rng.randrange(len(LAST))]
        city, state, country, doc_type, postal, street = PLACES[rng.randrange(len(PLACES))]
        email = f"{first}.{last}{n}@example.com".lower().replace("í", "i").replace("á", "a").replace(
            "é", "e").replace("ó", "o").replace("ú", "u")
        document = f"{20_000_000 + n * 7919}"
        phone = f"11 {rng.randrange(4000, 6999)}-{rng.randrange(1000, 9999)}"
        address = {"line1": street, "number": str(rng.randrange(100, 4000)), "city": city, "state": state,
                   "postal_code": postal, "country": country}
        orders = 1 + int(rng.expovariate(0.45))
        home = SOURCES[n % 3]
        for k in range(orders):
            source = home if rng.random() < 0.7 else SOURCES[rng.randrange(len(SOURCES))]
            customer = {"external_id": f"{source[:2]}-{n}", "first_name": first, "last_name": last,
                        "phone": phone, "city": city, "state": state, "country": country, "address": address}
            if source == "mercadolibre" and n % 4 == 0:
                # Marketplace buyers often come without email: document only (unified by document).
                customer |= {"document_type": doc_type, "document_number": document}
            elif n % 9 == 0:
                customer |= {"email": f"  {email.upper()} "}  # same person, odd case and spaces
            else:
                customer |= {"email": email, "document_type": doc_type, "document_number": document}
            if n % 50 == 0 and k == orders - 1:
                # A second email for the same person: a duplicate on purpose (same name, phone, postal code).
                customer = customer | {"email": f"{first.lower()}{n}@correo.example", "external_id": f"x-{n}"}
                customer.pop("document_number", None)
                customer.pop("document_type", None)
            items = []
            for _ in range(1 + rng.randrange(3)):
                sku, name, price = PRODUCTS[rng.randrange(len(PRODUCTS))]
                items.append({"sku": sku, "name": name, "quantity": 1 + rng.randrange(3), "unit_price": price})
            total = sum(item["quantity"] * item["unit_price"] for item in items)
            roll = rng.random()
            status = "cancelled" if roll < 0.05 else "refunded" if roll < 0.08 else "pending" if roll < 0.1 else \
                "completed"
            when = anchor - datetime.timedelta(days=rng.randrange(0, 720), minutes=rng.randrange(0, 1440))
            records.append({
                "source": source, "external_order_id": f"DEMO-{source[:2].upper()}-{n:05d}-{k}",
                "order_date": when.isoformat(), "status": status, "currency": "ARS",
                "total_amount": f"{total:.2f}", "subtotal": f"{total:.2f}", "shipping_cost": "0",
                "payment_method": PAYMENTS[rng.randrange(len(PAYMENTS))], "customer": customer, "items": items,
                "raw": {"demo": True, "channel": source},
            })
    return records


class Command(BaseCommand):
    help = "Load LATAM demo customers and orders into a tenant (idempotent): load_demo_data --tenant SLUG"

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--customers", type=int, default=1200)

    def handle(self, *args, tenant, customers, **options):
        target = Tenant.objects.filter(slug=tenant).exclude(schema_name="public").first()
        if target is None:
            raise CommandError(f"Unknown tenant '{tenant}'.")
        # Dates hang from the first day of this month, so a re-run within the month is a no-op.
        now = timezone.now()
        anchor = now.replace(day=1, hour=12, minute=0, second=0, microsecond=0)
        records = demo_records(customers=customers, anchor=anchor)
        totals = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0}
        actor = Actor.system("command:load_demo_data")
        try:
            with tenant_context(target):
                for start in range(0, len(records), MAX_BATCH):
                    result = order_ingest(records=records[start:start + MAX_BATCH], actor=actor, tenant=target,
                                          default_source="demo")
                    for key in totals:
                        totals[key] += result.count(key)
                    self.stderr.write(f"\r{min(start + MAX_BATCH, len(records)):,}/{len(records):,} orders",
                                      ending="")
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stderr.write("")
        self.stdout.write(f"Demo orders for {target.slug}: " + ", ".join(f"{v:,} {k}" for k, v in totals.items()))
