"""Show or change which order statuses count as a sale in a tenant:

    manage.py counted_statuses --tenant demo
    manage.py counted_statuses --tenant demo --set paid,invoiced,completed

Changing it runs the recorded recomputation here, with its progress (customer aggregates, loyalty,
then an analytics run), instead of queueing it.
"""

from __future__ import annotations

from django.core.management.base import CommandError

from cdp.commands import TenantCommand
from cdp.context import Actor
from customers.selectors.sales import counted_sale_rule
from customers.services.sales import counted_statuses_set, sales_recompute_execute


class Command(TenantCommand):
    help = "Show or set the order statuses that count as a sale: counted_statuses --tenant SLUG [--set a,b,c]"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--set", dest="statuses", help="Comma-separated statuses, e.g. paid,invoiced,completed")

    def handle_tenant(self, tenant, *args, statuses, **options):
        if statuses is not None:
            job = counted_statuses_set(statuses=statuses.split(","), tenant=tenant, enqueue=False,
                                       actor=Actor.system("command:counted_statuses"))
            if job is None:
                self.stdout.write("Unchanged: those statuses already count as a sale.")
            else:
                job = sales_recompute_execute(job_id=job.pk, tenant=tenant, inline=True, progress=self.stderr.write)
                if job.status != job.Status.SUCCEEDED:
                    raise CommandError(f"Recomputation {job.pk} failed: {job.error.splitlines()[0]}")
                self.stdout.write(f"Recomputation {job.pk} finished.")
        rule = counted_sale_rule()
        self.stdout.write(f"Counted as a sale in {tenant.slug}: {', '.join(rule['statuses'])}"
                          + (" (the default)" if rule["is_default"] else ""))
