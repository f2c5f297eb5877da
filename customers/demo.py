"""The demo store's history, drawn from a buying process like a real store's, so that every
analytics section has something true to say about it.

A LATAM store of yerba, mate gear, coffee and sweets (people come back for more), selling on its
VTEX shop, MercadoLibre, a small Shopify store and a till (pos):

- **Who buys when** follows the Pareto/NBD model (Schmittlein, Morrison & Colombo 1987): each
  customer buys at their own Poisson rate λ ~ Gamma(r, α) while alive, and stays alive an
  exponential time with rate μ ~ Gamma(s, β). Purchases are thinned by the season (summer
  holidays are slow; winter, Black Friday and December are busy).
- **How much** follows the Gamma-Gamma model (Fader, Hardie & Lee 2005): each order's value is
  Gamma(p, ν) around the customer's own ν ~ Gamma(q, γ); the basket is filled with products up to
  that value.
- **Order lifecycles**: about 5% are cancelled and 2% refunded; orders of the last days are
  often still pending payment, and a few older ones stay pending (unpaid boletos); VTEX orders end
  invoiced, marketplace and web orders paid, till sales completed. Each has the human order number,
  payment status and shipping method its channel would send, and web orders carry UTM tags of
  the demo ad campaigns (Google Search and Shopping, Meta prospecting and retargeting).
- **People** are known differently by each source: emails in odd case and spacing, marketplace
  buyers known only by document, and a few people with two emails (duplicates by design).

Customers arrive at a steady pace from ``ORIGIN`` on and each one's history is drawn from their
own random stream, so the history up to a date never depends on when it is generated: loading it
again changes nothing, and a later run only adds what happened since (and moves the recent
pending orders on), like a store that kept selling.
"""

from __future__ import annotations

import datetime
import random
import unicodedata

from customers.documents import document_check

#: The demo store opened here; customers arrive at a steady pace from then on.
ORIGIN = datetime.datetime(2024, 7, 1, 12, 0, tzinfo=datetime.UTC)
#: The pace is given as customers per this many days.
PACE_DAYS = 730

# Pareto/NBD (per day) and Gamma-Gamma (ARS): a customer buys every ~5 weeks while alive (the
# rates vary a lot between people) and stays about 8 months on average (many far longer).
PURCHASE_SHAPE, PURCHASE_RATE_SCALE = 3.0, 80.0  # λ ~ Gamma(r, α): mean r/α = 1 per 27 days
DROPOUT_SHAPE, DROPOUT_RATE_SCALE = 1.5, 450.0  # μ ~ Gamma(s, β): mean s/β = 1 per 300 days
# p, q, γ: a customer's typical order is about p·γ/(q−1) = 12,000 ARS; baskets round up to whole products.
SPEND_SHAPE, SPEND_POPULATION_SHAPE, SPEND_SCALE = 4.0, 3.0, 6000.0

#: Purchases per month relative to the average (thinning of the Poisson process).
SEASON = {1: 0.8, 2: 0.8, 3: 0.95, 4: 1.0, 5: 1.05, 6: 1.15, 7: 1.2, 8: 1.05, 9: 0.95, 10: 1.0, 11: 1.2, 12: 1.35}
PEAK = max(SEASON.values())

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
#: Where people first buy (their home channel) and how often a later order goes elsewhere.
CHANNELS = [("vtex", 0.45), ("mercadolibre", 0.30), ("shopify", 0.10), ("pos", 0.15)]
STRAY = 0.25
PAYMENTS = {"vtex": ["Visa", "Mastercard", "Pix", "Boleto Bancário"], "mercadolibre": ["account_money", "visa",
            "master", "debvisa"], "shopify": ["credit_card", "mercadopago"], "pos": ["cash", "debit_card",
            "credit_card"]}
SHIPPING = {"vtex": ["Normal", "Normal", "Expressa", "Pickup: Sucursal Centro"], "mercadolibre": [
            "mercadoenvios", "mercadoenvios", "fulfillment"], "shopify": ["Standard", "Express"], "pos": [""]}
#: The demo ad campaigns (integrations' ``load_ads_demo`` books their spend): UTM source, medium and
#: campaign as the shop's checkout records them, and how often a first web order comes from each.
CAMPAIGNS = [("google", "cpc", "search-yerba", 0.20), ("google", "cpc", "shopping-mates", 0.12),
             ("facebook", "paid_social", "prospecting-invierno", 0.15), ("facebook", "paid_social", "retargeting",
                                                                        0.05)]
NEWSLETTER = ("newsletter", "email", "novedades")


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _pick(rng: random.Random, weighted: list) -> object:
    roll, total = rng.random(), 0.0
    for item, weight in weighted:
        total += weight
        if roll < total:
            return item
    return weighted[-1][0]


def _purchase_days(rng: random.Random, start: datetime.datetime, until: datetime.datetime) -> list[datetime.datetime]:
    """The customer's purchase times (``rng`` is theirs alone): the first at ``start``, then a
    seasonal Poisson process at their own rate until they drop out; times after ``until`` are not
    known yet."""
    rate = rng.gammavariate(PURCHASE_SHAPE, 1 / PURCHASE_RATE_SCALE)
    dropout = rng.gammavariate(DROPOUT_SHAPE, 1 / DROPOUT_RATE_SCALE)
    alive_until = start + datetime.timedelta(days=rng.expovariate(dropout))
    times, when = [start], start
    while True:
        when += datetime.timedelta(days=rng.expovariate(rate * PEAK))
        if when > alive_until or when > until:
            return times
        if rng.random() < SEASON[when.month] / PEAK:
            times.append(when)


def _status(rng: random.Random, source: str, age_days: float) -> tuple[str, str]:
    """(order status, payment status) as the channel reports it at this age."""
    roll = rng.random()
    settle = rng.random()  # drawn whatever the age, so the stream does not depend on it
    if roll < 0.05:
        return "cancelled", "cancelled"
    if roll < 0.07:
        return "refunded", "refunded"
    if roll < 0.085 and source in ("vtex", "mercadolibre"):
        return "pending", "pending"  # never paid (an expired boleto, an abandoned transfer)
    if age_days < 3 and settle < 0.5 and source != "pos":
        return "pending", "pending"  # payment not confirmed yet
    final = {"vtex": "invoiced" if age_days >= 4 else "paid", "mercadolibre": "paid", "shopify": "paid",
             "pos": "completed"}[source]
    return final, "paid"


def _order_number(source: str, n: int, k: int) -> str:
    serial = n * 100 + k
    return {"vtex": f"{500000 + serial}", "mercadolibre": f"{2000009000000000 + serial}",
            "shopify": f"#{1001 + serial}", "pos": f"POS-{serial:07d}"}[source]


def _basket(rng: random.Random, target: float) -> list[dict]:
    """Products (1–3 units each) until the basket reaches about ``target``."""
    items: dict[str, dict] = {}
    total = 0
    while not items or total < target * 0.9:
        sku, name, price = PRODUCTS[rng.randrange(len(PRODUCTS))]
        quantity = 1 + rng.randrange(3) if price < 20000 else 1
        item = items.setdefault(sku, {"sku": sku, "name": name, "quantity": 0, "unit_price": price})
        item["quantity"] += quantity
        total += quantity * price
        if len(items) >= 6:
            break
    return list(items.values())


def demo_records(*, customers: int = 700, seed: int = 2024, now: datetime.datetime) -> list[dict]:
    """Canonical order records of the demo store up to ``now``: ``customers`` new customers every
    ``PACE_DAYS`` days since ``ORIGIN``. Each customer, their purchase times and each of their
    orders draw from random streams of their own, so nothing drawn depends on ``now``."""
    records = []
    spacing = PACE_DAYS / max(customers, 1)
    n = 0
    while True:
        rng = random.Random(f"demo-{seed}-{n}")
        start = ORIGIN + datetime.timedelta(days=(n + rng.random()) * spacing, minutes=rng.randrange(1440))
        if start > now:
            break
        records.extend(_customer_orders(rng, n, start, now, seed))
        n += 1
    return records



def demo_document(doc_type: str, n: int, country: str) -> str:
    """A document number of ``doc_type`` that passes its check digits (customers/documents.py): a
    stem made from ``n`` and the one last character that makes it valid."""
    stems = {"cpf": (f"{200_000_000 + n * 7919:09d}"[-9:] + "{}", [f"{d:02d}" for d in range(100)]),
             "rut": (f"{10_000_000 + n * 7919}"[-8:] + "{}", [*"0123456789K"]),
             "curp": (f"GOML{80 + n % 20:02d}{1 + n % 12:02d}{1 + n % 28:02d}HDFRRN{n % 10}" + "{}", [*"0123456789"])}
    if doc_type not in stems:
        return f"{20_000_000 + n * 7919}"
    stem, tails = stems[doc_type]
    return next(stem.format(tail) for tail in tails if document_check(doc_type, stem.format(tail), country)[1] is None)

def _customer_orders(rng: random.Random, n: int, start: datetime.datetime, now: datetime.datetime,
                     seed: int) -> list[dict]:
    first, last = FIRST[rng.randrange(len(FIRST))], LAST[rng.randrange(len(LAST))]
    city, state, country, doc_type, postal, street = PLACES[rng.randrange(len(PLACES))]
    email = _ascii(f"{first}.{last}{n}@example.com").lower()
    document = demo_document(doc_type, n, country)
    phone = f"11 {rng.randrange(4000, 6999)}-{rng.randrange(1000, 9999)}"
    address = {"line1": street, "number": str(rng.randrange(100, 4000)), "city": city, "state": state,
               "postal_code": postal, "country": country}
    home = _pick(rng, CHANNELS)
    spend_rate = rng.gammavariate(SPEND_POPULATION_SHAPE, 1 / SPEND_SCALE)
    first_campaign = _pick(rng, [(campaign, campaign[3]) for campaign in CAMPAIGNS] + [(None, 0.48)])
    times = _purchase_days(random.Random(f"{rng.random()}-times"), start, now)
    records = []
    for k, when in enumerate(times):
        rng = random.Random(f"{seed}-{n}-{k}")
        source = home if rng.random() > STRAY else CHANNELS[rng.randrange(len(CHANNELS))][0]
        customer = {"external_id": f"{source[:2]}-{n}", "first_name": first, "last_name": last, "phone": phone,
                    "city": city, "state": state, "country": country, "address": address}
        if source == "mercadolibre" and n % 4 == 0:
            # Marketplace buyers often come without email: document only (unified by document).
            customer |= {"document_type": doc_type, "document_number": document}
        elif n % 9 == 0:
            customer |= {"email": f"  {email.upper()} "}  # same person, odd case and spaces
        else:
            customer |= {"email": email, "document_type": doc_type, "document_number": document}
        if n % 50 == 0 and k == 0:
            # A second email for the same person: a duplicate on purpose (same name, phone, postal code).
            customer = customer | {"email": f"{_ascii(first).lower()}{n}@correo.example", "external_id": f"x-{n}"}
            customer.pop("document_number", None)
            customer.pop("document_type", None)
        items = _basket(rng, rng.gammavariate(SPEND_SHAPE, 1 / spend_rate))
        total = sum(item["quantity"] * item["unit_price"] for item in items)
        status, payment_status = _status(rng, source, (now - when).total_seconds() / 86400)
        utm = ("", "", "")
        if source in ("vtex", "shopify"):
            if k == 0 and first_campaign:
                utm = first_campaign[:3]
            elif k:
                roll = rng.random()
                # later visits: the newsletter, and now and then a retargeting ad
                utm = NEWSLETTER if roll < 0.2 else CAMPAIGNS[3][:3] if roll < 0.23 else utm
        shipping = SHIPPING[source][rng.randrange(len(SHIPPING[source]))]
        records.append({
            "source": source, "external_order_id": f"DEMO-{source[:2].upper()}-{n:05d}-{k}",
            "order_number": _order_number(source, n, k), "order_date": when.isoformat(), "status": status,
            "payment_status": payment_status, "currency": "ARS", "total_amount": f"{total:.2f}",
            "subtotal": f"{total:.2f}", "shipping_cost": "0", "shipping_method": shipping,
            "payment_method": PAYMENTS[source][rng.randrange(len(PAYMENTS[source]))],
            "utm_source": utm[0], "utm_medium": utm[1], "utm_campaign": utm[2],
            "customer": customer, "items": items, "raw": {"demo": True, "channel": source},
        })
    return records
