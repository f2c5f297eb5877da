"""The record/bulk agreement at scale: 10,000 random messy records imported through the record path
(batches of 1,000 through ``order_ingest``, as the API, JSON Lines and connectors send them) into
one tenant and through the bulk CSV path into another come out the same, field by field.

The records are messy the way stores send them (case and white space, phone and country spellings,
blank values, people known by different identifiers in different rows, a few invalid rows). Their
dates increase with their position: across batches the record path applies the conflict rule in
arrival order, a file by order date; in date order both mean "the newest value wins". A person's
profile values come from one source (a second source only names them): a new person in a file
takes the newest value of any source, while a later batch from another source must outrank the
stored one, and that difference is the rule, not a disagreement. A person's first row names every
identifier they have: a file links rows that name one person by different identifiers wherever
they are, while batches that created two customers before a row linking them need a merge.
"""

from __future__ import annotations

import csv
import datetime
import json
import random

from django.core.management import call_command
from django_tenants.utils import tenant_context

from customers.models import Address, Customer, CustomerIdentity, Order, OrderItem

RECORDS = 10_000
PEOPLE = 2_500
HEADER = ["source", "external_order_id", "order_date", "status", "currency", "total_amount", "subtotal",
          "payment_method", "customer_email", "customer_external_id", "customer_first_name", "customer_last_name",
          "customer_phone", "customer_document_type", "customer_document_number", "customer_birth_date",
          "customer_gender", "customer_city", "customer_country", "customer_address_line1",
          "customer_address_number", "customer_address_city", "customer_address_postal_code", "items"]
SOURCES = ["vtex", "shop", "pos"]
FIRST = ["Ana", " ana ", "Lucía", "Juan  Pablo", "MARÍA", "josé", ""]
LAST = ["Paz", "González ", "  Ruiz", "de la Torre", ""]
PHONES = ["11 4444-5555", "+54 11 4444 5555", "(011) 4444-5555", "011 15 4444 5555", "", ""]
COUNTRIES = ["AR", "ar", "Argentina", "ARG", "", " AR "]
GENDERS = ["F", "female", "m", "Male", "", ""]
STATUSES = ["completed", " Paid ", "", "cancelled", "REFUNDED", "invoiced", "pending"]
CITIES = ["Córdoba", "  Buenos   Aires ", "Rosario", ""]


def messy_rows(seed: int = 18) -> list[list[str]]:
    rng = random.Random(seed)
    people = []
    for i in range(PEOPLE):
        email = f"Person.{i}@Example.com" if i % 5 else ""
        cext = f"c-{i}" if i % 4 else ""
        doc = f"{20 + i % 7}.{i:03d}.{(i * 7) % 1000:03d}" if i % 3 == 0 else ""
        if not (email or cext or doc):
            email = f"only.{i}@example.com"
        people.append((SOURCES[i % 3], email, cext, doc))
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    rows, seen = [], set()
    for n in range(RECORDS):
        person = rng.randrange(PEOPLE)
        source, email, cext, doc = people[person]
        first_sight = person not in seen  # names them by every identifier they have, from their store
        seen.add(person)
        when = start + datetime.timedelta(minutes=7 * n)
        date = when.isoformat() if n % 4 else when.astimezone(datetime.timezone(datetime.timedelta(hours=-3))).isoformat()
        row_source = source
        if email and not first_sight and rng.random() < 0.1:  # another store naming the person by email only
            row_source, cext, doc = SOURCES[(SOURCES.index(source) + 1) % 3], "", ""
        shown_email = rng.choice([email, email.upper(), f"  {email} ", email.lower()]) if email else ""
        if email and (cext or doc) and not first_sight and rng.random() < 0.2:
            shown_email = ""  # this row names them otherwise
        shown_doc = rng.choice([doc, doc.replace(".", ""), f" {doc} "]) if doc else ""
        profile = row_source == source
        cents = rng.randrange(100, 900000)
        total = rng.choice([f"{cents / 100:.2f}", f" {cents / 100} ", f"{cents / 100:.3f}"])
        items = ""
        if rng.random() < 0.4:
            items = json.dumps([{"sku": f"SKU-{rng.randrange(50)}", "name": rng.choice(["Mate", " Yerba ", "Bombilla"]),
                                 "quantity": rng.choice([1, 2, "3"]), "unit_price": rng.choice(["10.5", 99, "0"])}])
        address = rng.random() < 0.3 and profile
        row = [row_source, f"{row_source}-{n}", date, rng.choice(STATUSES), rng.choice(["", "ars", "ARS"]), total,
               rng.choice(["", f"{cents / 200:.2f}"]), rng.choice(["", "card", " pix "]), shown_email, cext,
               rng.choice(FIRST) if profile else "", rng.choice(LAST) if profile else "",
               rng.choice(PHONES) if profile else "", rng.choice(["dni", "DNI", " dni"]) if shown_doc else "",
               shown_doc, rng.choice(["", "1990-05-17", "1985-12-01"]) if profile else "",
               rng.choice(GENDERS) if profile else "", rng.choice(CITIES) if profile else "",
               rng.choice(COUNTRIES) if profile else "",
               rng.choice(["Av. Siempre Viva", "calle 9 de julio"]) if address else "",
               str(rng.randrange(1, 3000)) if address else "", rng.choice(["Córdoba", "CABA"]) if address else "",
               rng.choice(["5000", "1414"]) if address else "", items]
        if not first_sight and rng.random() < 0.03:  # invalid: each path must reject it, with nothing written
            column, value = rng.choice([(8, "not-an-email"), (5, "-5"), (2, "31/02/2024"), (3, "lost"),
                                        (23, "[oops"), (5, "abc")])
            row[column] = value
        rows.append(row)
    return rows


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def snapshot(tenant) -> dict:
    """Every stored value that ingest decides, keyed so that ids do not matter."""
    with tenant_context(tenant):
        who = {c.pk: (c.email, c.document_type, c.document_number) for c in Customer.objects.all()}
        customers = {
            who[c["id"]]: {k: v for k, v in c.items() if k != "id"}
            for c in Customer.objects.values(
                "id", "email", "phone", "document_type", "document_number", "first_name", "last_name", "birth_date",
                "gender", "city", "state", "country", "source", "field_sources", "total_orders", "total_spent",
                "avg_order_value", "first_purchase_at", "last_purchase_at", "is_pseudonymized")}
        orders = {
            (o["source"], o["external_order_id"]): {
                **{k: v for k, v in o.items() if k not in ("source", "external_order_id", "customer_id")},
                "customer": who[o["customer_id"]]}
            for o in Order.objects.values(
                "source", "external_order_id", "customer_id", "order_date", "status", "currency", "total_amount",
                "subtotal", "payment_method", "payment_status")}
        items = sorted([(i["order__source"], i["order__external_order_id"], i["sku"], i["name"], i["quantity"],
                        i["unit_price"], i["total_price"], i["product__sku"]) for i in OrderItem.objects.values(
            "order__source", "order__external_order_id", "sku", "name", "quantity", "unit_price", "total_price",
            "product__sku")], key=str)
        identities = sorted([(i.source, i.external_id, who[i.customer_id]) for i in CustomerIdentity.objects.all()],
                            key=str)
        addresses = sorted([(who[a.customer_id], a.address_type, a.line1, a.number, a.city, a.postal_code, a.is_default)
                           for a in Address.objects.all()], key=str)
        return {"customers": customers, "orders": orders, "items": items, "identities": identities,
                "addresses": addresses}


def differences(left: dict, right: dict, limit: int = 20) -> list[str]:
    """Field-by-field differences of two keyed snapshots (the first ``limit``)."""
    out = []
    for key in sorted(set(left) | set(right), key=str):
        if key not in left or key not in right:
            out.append(f"{key}: only in {'records' if key in left else 'bulk'}")
            continue
        for name in left[key]:
            if left[key][name] != right[key][name]:
                out.append(f"{key}.{name}: records {left[key][name]!r} != bulk {right[key][name]!r}")
    return out[:limit]


def test_record_and_bulk_paths_agree_on_10000_random_messy_records(world, tmp_path, capsys):
    # given the same messy file
    path = write_csv(tmp_path / "messy.csv", messy_rows())

    # when the record path (batches of 1,000) imports it into alpha and the bulk path into beta
    call_command("import_orders", str(path), "--tenant", "alpha", "--no-progress", "--mode", "records")
    records_out = capsys.readouterr().out
    call_command("import_orders", str(path), "--tenant", "beta", "--no-progress", "--mode", "bulk")
    bulk_out = capsys.readouterr().out

    # then both report the same counts and store the same values, field by field
    assert records_out.split(":", 1)[1].split("(")[0] == bulk_out.split(":", 1)[1].split("(")[0], (records_out, bulk_out)
    assert "rejected" in records_out and " 0 rejected" not in records_out
    records, bulk = snapshot(world.alpha), snapshot(world.beta)
    assert len(records["customers"]) > PEOPLE / 2
    for part in ("customers", "orders"):
        found = differences(records[part], bulk[part])
        assert not found, "\n".join(found)
    for part in ("identities", "items", "addresses"):
        assert records[part] == bulk[part], part
