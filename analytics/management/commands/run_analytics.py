"""Run the analytics recompute for one tenant synchronously.

    python manage.py run_analytics --tenant SLUG [--as-of YYYY-MM-DD] [--only rfm,clv,...]

Progress goes to stderr; the last line on stdout is the run's summary as one JSON object. Exits
non-zero with one readable line when the run cannot start or fails.
"""

from __future__ import annotations

import datetime
import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from analytics.models import STEPS, ProcessingJob
from cdp.context import Actor
from cdp.exceptions import ApplicationError
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Recompute RFM, CLV, churn, cohorts, KPIs, segments and data quality for one tenant."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("--as-of", dest="as_of", help="YYYY-MM-DD in the tenant's timezone (default: today).")
        parser.add_argument("--only", help=f"Comma-separated steps: {','.join(STEPS)}.")
        parser.add_argument("--quiet", action="store_true", help="No progress lines.")

    def handle(self, *args, tenant: str, as_of: str | None, only: str | None, quiet: bool, **options):
        from analytics.services import analytics_run

        target = Tenant.objects.filter(slug=tenant).exclude(schema_name="public").first()
        if target is None:
            raise CommandError(f"No tenant with slug '{tenant}'.")
        try:
            day = datetime.date.fromisoformat(as_of) if as_of else None
        except ValueError:
            raise CommandError(f"--as-of must be YYYY-MM-DD, got '{as_of}'.") from None
        steps = [s.strip() for s in only.split(",") if s.strip()] if only else None

        def progress(line: str) -> None:
            if not quiet:
                sys.stderr.write(line + "\n")
                sys.stderr.flush()

        with tenant_context(target):
            try:
                job = analytics_run(tenant=target, actor=Actor.system("command:run_analytics"), as_of=day,
                                    only=steps, progress=progress)
            except ApplicationError as exc:
                raise CommandError(f"{exc.code}: {exc.message}") from None
        self.stdout.write(json.dumps(job.summary, default=str, sort_keys=True))
        if job.status != ProcessingJob.Status.SUCCEEDED:
            raise CommandError(f"Run {job.pk} failed: {job.error.splitlines()[0] if job.error else 'unknown error'}")
