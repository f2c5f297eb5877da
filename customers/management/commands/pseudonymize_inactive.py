"""Pseudonymize a tenant's inactive customers (the inactivity policy, customers.services.inactivity):

    manage.py pseudonymize_inactive --tenant demo --dry-run          # who would be, with the tenant's period
    manage.py pseudonymize_inactive --tenant demo --months 36        # do it, with a period of 36 months
"""

from __future__ import annotations

from cdp.commands import TenantCommand
from cdp.context import Actor
from customers.services.inactivity import inactive_customers_pseudonymize


class Command(TenantCommand):
    help = "Pseudonymize customers inactive for N months: pseudonymize_inactive --tenant SLUG [--months N] [--dry-run]"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--months", type=int, help="The inactivity period (default: the tenant's inactivity_months).")
        parser.add_argument("--dry-run", action="store_true", help="List who would be pseudonymized; change nothing.")

    def handle_tenant(self, tenant, *args, months=None, dry_run=False, **options):
        report = inactive_customers_pseudonymize(tenant=tenant, months=months, dry_run=dry_run,
                                                 actor=Actor.system("command:pseudonymize_inactive"))
        if dry_run:
            self.stdout.write(f"Dry run: {report['candidates']} customer(s) of {tenant.slug} with no activity since "
                              f"{report['cutoff'][:10]} ({report['months']} months) would be pseudonymized.")
            for customer_id in report["customer_ids"][:50]:
                self.stdout.write(f"  customer {customer_id}")
            return
        self.stdout.write(f"Pseudonymized {len(report['pseudonymized'])} customer(s) of {tenant.slug} with no activity "
                          f"since {report['cutoff'][:10]}; {len(report['refused'])} refused.")
        for refusal in report["refused"]:
            self.stderr.write(f"  customer {refusal['customer_id']}: {refusal['message']}")
