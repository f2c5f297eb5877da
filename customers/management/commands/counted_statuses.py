"""Show or change which order statuses count as a sale in a tenant:

    manage.py counted_statuses --tenant demo
    manage.py counted_statuses --tenant demo --set paid,invoiced,completed

Changing it runs the recorded recomputation here, with its progress (customer aggregates, loyalty,
then an analytics run), instead of queueing it.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from cdp.context import Actor
from cdp.exceptions import ApplicationError
from customers.selectors_sales import counted_sale_rule
from customers.services.sales import counted_statuses_set, sales_recompute_execute
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Show or set the order statuses that count as a sale: counted_statuses --tenant SLUG [--set a,b,c]"

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--set", dest="statuses", help="Comma-separated statuses, e.g. paid,invoiced,completed")

    def handle(self, *args, tenant, statuses, **options):
        target = Tenant.objects.filter(slug=tenant).exclude(schema_name="public").first()
        if target is None:
            raise CommandError(f"Unknown tenant '{tenant}'.")
        with tenant_context(target):
            if statuses is not None:
                try:
                    job = counted_statuses_set(statuses=statuses.split(","), tenant=target, enqueue=False,
                                               actor=Actor.system("command:counted_statuses"))
                except ApplicationError as exc:
                    raise CommandError(exc.message) from exc
                if job is None:
                    self.stdout.write("Unchanged: those statuses already count as a sale.")
                else:
                    job = sales_recompute_execute(job_id=job.pk, tenant=target, inline=True,
                                                  progress=self.stderr.write)
                    if job.status != job.Status.SUCCEEDED:
                        raise CommandError(f"Recomputation {job.pk} failed: {job.error.splitlines()[0]}")
                    self.stdout.write(f"Recomputation {job.pk} finished.")
            rule = counted_sale_rule()
            self.stdout.write(f"Counted as a sale in {target.slug}: {', '.join(rule['statuses'])}"
                              + (" (the default)" if rule["is_default"] else ""))
