"""Load the demo catalog, tax rates (AR, BR, MX, CL, CO, US) and coupons. Idempotent."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from billing.demo import CATEGORIES, COUPONS, PRODUCTS, TAX_RATES
from billing.models import Category, Coupon, PaymentGateway, Product, TaxRate


class Command(BaseCommand):
    help = "Load billing demo data (public schema): catalog, tax rates, coupons, sandbox gateway."

    def add_arguments(self, parser):
        # Accepted so the bootstrap can call every demo command the same way; billing is shared.
        parser.add_argument("--tenant", default=None, help="Ignored: billing data is platform-wide.")

    def handle(self, *args, **options):
        try:
            with transaction.atomic():
                PaymentGateway.objects.get_or_create(code="sandbox", defaults={
                    "name": "Sandbox (test tokens)", "kind": "sandbox", "is_active": True})
                categories = {}
                for order, (slug, name) in enumerate(CATEGORIES):
                    categories[slug], _ = Category.objects.update_or_create(
                        slug=slug, defaults={"name": name, "sort_order": order})
                for sku, name, cat, interval, price, original, plan, featured, popular in PRODUCTS:
                    product = Product(sku=sku, name=name, category=categories[cat], interval=interval, price=price,
                                      original_price=original, plan_code=plan, is_featured=featured,
                                      is_popular=popular)
                    product.full_clean(exclude=["sku"])
                    Product.objects.update_or_create(sku=sku, defaults={
                        "name": name, "category": categories[cat], "interval": interval, "price": price,
                        "original_price": original, "plan_code": plan, "is_featured": featured,
                        "is_popular": popular, "is_active": True})
                self.stdout.write(f"Catalog: {len(PRODUCTS)} products in {len(CATEGORIES)} categories.")
                for name, country, state, rate, inclusive in TAX_RATES:
                    TaxRate.objects.update_or_create(country=country, state=state, is_active=True, defaults={
                        "name": name, "rate": rate, "inclusive": inclusive})
                self.stdout.write(f"Tax rates: {len(TAX_RATES)}.")
                for code, kind, value, max_redemptions in COUPONS:
                    Coupon.objects.update_or_create(code=code, defaults={
                        "kind": kind, "value": value, "max_redemptions": max_redemptions, "is_active": True})
                self.stdout.write(f"Coupons: {len(COUPONS)}.")
        except Exception as exc:  # one readable line, non-zero exit
            raise CommandError(f"Billing demo data failed: {exc}") from exc
        self.stdout.write(self.style.SUCCESS("Billing demo data loaded."))
