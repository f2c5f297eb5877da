"""Load the demo catalog, tax rates (AR, BR, MX, CL, CO, US) and coupons. Idempotent."""

from __future__ import annotations

from billing.services import catalog_demo_load
from cdp.commands import CdpCommand
from cdp.context import Actor


class Command(CdpCommand):
    help = "Load billing demo data (public schema): catalog, tax rates, coupons, sandbox gateway."

    def add_arguments(self, parser):
        # Accepted so the bootstrap can call every demo command the same way; billing is shared.
        parser.add_argument("--tenant", default=None, help="Ignored: billing data is platform-wide.")

    def handle(self, *args, **options):
        counts = catalog_demo_load(actor=Actor.system("command:load_billing_demo"))
        self.stdout.write(f"Catalog: {counts['products']} products in {counts['categories']} categories.")
        self.stdout.write(f"Tax rates: {counts['tax_rates']}.")
        self.stdout.write(f"Coupons: {counts['coupons']}.")
        self.stdout.write(self.style.SUCCESS("Billing demo data loaded."))
