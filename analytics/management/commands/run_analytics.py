"""Run the analytics recompute for one tenant synchronously.

    python manage.py run_analytics --tenant SLUG [--as-of YYYY-MM-DD] [--only rfm,clv,...]

Progress goes to stderr; the last line on stdout is the run's summary as one JSON object. Exits
non-zero with one readable line when the run cannot start or fails.
"""

from __future__ import annotations

import datetime
import json

from django.core.management.base import CommandError

from analytics.models import STEPS, ProcessingJob
from analytics.services import analytics_run
from cdp.commands import TenantCommand
from cdp.context import Actor


class Command(TenantCommand):
    help = "Recompute RFM, CLV, churn, cohorts, KPIs, segments and data quality for one tenant."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--as-of", dest="as_of", help="YYYY-MM-DD in the tenant's timezone (default: today).")
        parser.add_argument("--only", help=f"Comma-separated steps: {','.join(STEPS)}.")
        parser.add_argument("--quiet", action="store_true", help="No progress lines.")

    def handle_tenant(self, tenant, *args, as_of: str | None, only: str | None, quiet: bool, **options):
        try:
            day = datetime.date.fromisoformat(as_of) if as_of else None
        except ValueError:
            raise CommandError(f"--as-of must be YYYY-MM-DD, got '{as_of}'.") from None
        steps = [s.strip() for s in only.split(",") if s.strip()] if only else None

        def progress(line: str) -> None:
            if not quiet:
                self.stderr.write(line)
                self.stderr.flush()

        job = analytics_run(tenant=tenant, actor=Actor.system("command:run_analytics"), as_of=day, only=steps,
                            progress=progress)
        self.stdout.write(json.dumps(job.summary, default=str, sort_keys=True))
        if job.status != ProcessingJob.Status.SUCCEEDED:
            raise CommandError(f"Run {job.pk} failed: {job.error.splitlines()[0] if job.error else 'unknown error'}")
