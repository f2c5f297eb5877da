import datetime

from django.core.management.base import CommandError

from cdp.commands import CdpCommand, tenant_by_slug
from cdp.context import Actor
from licensing.models import License, Plan
from licensing.services import license_issue


def parse_expiry(value: str) -> datetime.datetime:
    """``YYYY-MM-DD``: the license is valid through that whole day (UTC)."""
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--expires must be a date as YYYY-MM-DD, not '{value}'.") from exc
    return datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min, tzinfo=datetime.UTC)


class Command(CdpCommand):
    help = "Issue a license to a tenant. The key is printed alone on the last line, once."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="The tenant's slug.")
        parser.add_argument("--plan", required=True, help=f"One of: {', '.join(Plan.Code.values)}.")
        parser.add_argument("--max-machines", type=int, help="Machine seats (default: the plan's).")
        parser.add_argument("--expires", help="YYYY-MM-DD: valid through that day, UTC (default: no expiry).")
        parser.add_argument("--trial", action="store_true", help="Issue a trial (expires after the plan's trial days "
                                                                 "unless --expires is given).")

    def handle(self, *args, tenant, plan, max_machines, expires, trial, **options):
        # Licenses live in the public schema: the tenant is looked up, its schema is not entered.
        tenant_obj = tenant_by_slug(tenant)
        expires_at = parse_expiry(expires) if expires else None
        issued = license_issue(
            tenant=tenant_obj, plan_code=plan, max_machines=max_machines, expires_at=expires_at,
            status=License.Status.TRIAL if trial else License.Status.ACTIVE,
            actor=Actor.system("command:issue_license"),
        )
        lic = issued.license
        expiry = f"until {lic.expires_at:%Y-%m-%d %H:%M} UTC" if lic.expires_at else "with no expiry"
        self.stderr.write(f"{lic.get_status_display()} {lic.plan.code} license for {tenant} ({lic.max_machines} "
                          f"machine(s), {expiry}). The key is shown once:")
        self.stdout.write(issued.key)
