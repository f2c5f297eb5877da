"""Every periodic task in one place (django-celery-beat loads this into its database scheduler).

Each entry says why it exists. Per-tenant work is never scheduled directly: beat runs the
public-schema dispatcher, which enqueues the per-tenant task once for each active tenant.
Entries carry an ``expires`` so a backlog after downtime does not run stale copies.
"""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # Expired sessions live in the shared schema; without pruning the table grows forever.
    "sessions-prune": {
        "task": "tenants.tasks.sessions_prune_task",
        "schedule": crontab(minute=17, hour=3),
        "options": {"queue": "default", "expires": 3600},
    },
    # Sign-in records whose Django session is gone or idle past the cookie age are marked expired;
    # records ended more than 90 days ago are deleted (the sign-in history's retention).
    "user-sessions-cleanup": {
        "task": "tenants.tasks.user_sessions_cleanup_task",
        "schedule": crontab(minute=29),
        "options": {"queue": "default", "expires": 3000},
    },
    # System events (deployments, migrations, settings, errors) are kept CDP_SYSTEM_EVENT_RETENTION_DAYS.
    "system-events-prune": {
        "task": "tenants.tasks.system_events_prune_task",
        "schedule": crontab(minute=53, hour=3),
        "options": {"queue": "default", "expires": 3600},
    },
    # Birthday messages (engagement trigger rules on customer.birthday), once a day per tenant;
    # each person once a year (the notification key), so a second run the same day sends nothing.
    "engagement-birthdays-per-tenant": {
        "task": "tenants.tasks.tenants_dispatch_task",
        "schedule": crontab(minute=5, hour=12),
        "kwargs": {"task_name": "engagement.tasks.birthday_triggers_task"},
        "options": {"queue": "default", "expires": 3600},
    },
    # Each tenant keeps its audit trail for settings.data_retention_days, then it is deleted.
    "audit-retention-per-tenant": {
        "task": "tenants.tasks.tenants_dispatch_task",
        "schedule": crontab(minute=41, hour=3),
        "kwargs": {"task_name": "tenants.tasks.audit_retention_prune_task"},
        "options": {"queue": "default", "expires": 3600},
    },
    # License validations are logged through a Redis buffer; requests flush it too, this catches
    # the tail when traffic stops.
    "licensing-validation-log-flush": {
        "task": "licensing.tasks.validation_log_flush_task",
        "schedule": crontab(minute="*"),
        "options": {"queue": "default", "expires": 55},
    },
    # Validation already answers EXPIRED past expires_at; this makes the stored status agree.
    "licensing-expire-due": {
        "task": "licensing.tasks.license_expire_due_task",
        "schedule": crontab(minute=3),
        "options": {"queue": "default", "expires": 3000},
    },
    # Each tenant's storage (its schema's tables plus its media) against its plan's storage limit,
    # with the 80% / 100% warnings; the portal and admin show the newest measurement.
    "licensing-storage-measure": {
        "task": "licensing.tasks.storage_measure_task",
        "schedule": crontab(minute=25, hour=4),
        "options": {"queue": "default", "expires": 6 * 3600},
    },
    # Billing is public-schema: renew subscriptions whose period ended and advance dunning (hourly).
    "billing-cycle": {
        "task": "billing.tasks.billing_cycle_task",
        "schedule": crontab(minute=7),
        "options": {"queue": "default", "expires": 3000},
    },
    # Payments left half-way (a process died or the gateway timed out between the charge and its
    # record, or a refund was not confirmed) are asked about at the gateway, then the order is
    # completed or the charge refunded. Idempotent; a skipped run is caught up by the next.
    "billing-payments-reconcile": {
        "task": "billing.tasks.payments_reconcile_task",
        "schedule": crontab(minute="*/5"),
        "options": {"queue": "default", "expires": 240},
    },
    # Idempotency-Key answers are kept at least 24 hours (BILLING_IDEMPOTENCY_TTL_HOURS), then deleted.
    "billing-idempotency-prune": {
        "task": "billing.tasks.idempotency_prune_task",
        "schedule": crontab(minute=47),
        "options": {"queue": "default", "expires": 3000},
    },
    # Each tenant's integrations sync by their frequency; the per-tenant task enqueues the due ones.
    "integrations-sync-due-per-tenant": {
        "task": "tenants.tasks.tenants_dispatch_task",
        "schedule": crontab(minute="*/15"),
        "kwargs": {"task_name": "integrations.tasks.integrations_sync_due_task"},
        "options": {"queue": "default", "expires": 600},
    },
    # Webhook retries come due at their backoff time; this public-schema sweep reads a Redis index of
    # tenants with deliveries due and queues only their drains (one message per tenant with work).
    "integrations-webhooks-wake-due": {
        "task": "integrations.tasks.webhooks_wake_due_task",
        "schedule": crontab(minute="*"),
        "options": {"queue": "syncs", "expires": 55},
    },
    # Duplicate suggestions go stale as orders arrive; recompute them nightly for every tenant.
    "customers-duplicates-per-tenant": {
        "task": "tenants.tasks.tenants_dispatch_task",
        "schedule": crontab(minute=23, hour=2),
        "kwargs": {"task_name": "customers.tasks.duplicates_recompute_task"},
        "options": {"queue": "default", "expires": 3600},
    },
    # The inactivity policy (issue #21 item 5): customers inactive for the tenant's
    # inactivity_months are pseudonymized, only where the owners set inactivity_auto (off by
    # default; the task is a no-op elsewhere). After the night's other customer jobs.
    "customers-inactivity-pseudonymize-per-tenant": {
        "task": "tenants.tasks.tenants_dispatch_task",
        "schedule": crontab(minute=13, hour=4),
        "kwargs": {"task_name": "customers.tasks.inactivity_pseudonymize_task"},
        "options": {"queue": "default", "expires": 3600},
    },
    # Orders whose ingest event was lost (a crash before the loyalty hook sent its buffer) earn
    # within the hour; the window is the last 3 days of order changes, older than 15 minutes.
    "loyalty-catch-up-per-tenant": {
        "task": "tenants.tasks.tenants_dispatch_task",
        "schedule": crontab(minute=40),
        "kwargs": {"task_name": "loyalty.tasks.loyalty_catch_up_task"},
        "options": {"queue": "default", "expires": 1800},
    },
    # Loyalty points past their validity leave the balance (one ledger "expire" entry per account).
    "loyalty-expire-per-tenant": {
        "task": "tenants.tasks.tenants_dispatch_task",
        "schedule": crontab(minute=5, hour=2),
        "kwargs": {"task_name": "loyalty.tasks.loyalty_points_expire_task"},
        "options": {"queue": "default", "expires": 3600},
    },
    # Tiers follow rolling spend/points, which fall as old orders leave the window: re-evaluate nightly.
    "loyalty-tiers-per-tenant": {
        "task": "tenants.tasks.tenants_dispatch_task",
        "schedule": crontab(minute=35, hour=2),
        "kwargs": {"task_name": "loyalty.tasks.loyalty_tiers_recompute_task"},
        "options": {"queue": "default", "expires": 3600},
    },
    # Vouchers past their validity become "expired" (the check refuses them anyway; the status makes
    # lists, the member's vouchers and breakage figures right).
    "loyalty-vouchers-expire-per-tenant": {
        "task": "tenants.tasks.tenants_dispatch_task",
        "schedule": crontab(minute=10, hour=2),
        "kwargs": {"task_name": "loyalty.tasks.vouchers_expire_task"},
        "options": {"queue": "default", "expires": 3600},
    },
    # Partner settlement statements of this and last month (late reversals and voucher uses still
    # change last month's).
    "loyalty-settlements-per-tenant": {
        "task": "tenants.tasks.tenants_dispatch_task",
        "schedule": crontab(minute=50, hour=3),
        "kwargs": {"task_name": "loyalty.tasks.partner_settlements_refresh_task"},
        "options": {"queue": "default", "expires": 3600},
    },
    # B2B credit usage past its payment term is flagged overdue for collections.
    "credit-overdue-per-tenant": {
        "task": "tenants.tasks.tenants_dispatch_task",
        "schedule": crontab(minute=15, hour=4),
        "kwargs": {"task_name": "customers.tasks.credit_overdue_flag_task"},
        "options": {"queue": "default", "expires": 3600},
    },
    # Deleted segments are restorable for CDP_RESTORE_DAYS days (cdp/softdelete.py), then removed for good.
    "analytics-segments-purge-per-tenant": {
        "task": "tenants.tasks.tenants_dispatch_task",
        "schedule": crontab(minute=45, hour=4),
        "kwargs": {"task_name": "analytics.tasks.segments_purge_task"},
        "options": {"queue": "default", "expires": 3600},
    },
    # Deleted integrations and webhook endpoints: restorable CDP_RESTORE_DAYS days, then removed for good.
    "integrations-purge-per-tenant": {
        "task": "tenants.tasks.tenants_dispatch_task",
        "schedule": crontab(minute=50, hour=4),
        "kwargs": {"task_name": "integrations.tasks.integrations_purge_task"},
        "options": {"queue": "default", "expires": 3600},
    },
    # Analytics recompute: hourly fan-out; each tenant runs once, at 02:xx in its own timezone.
    "analytics-nightly-per-tenant": {
        "task": "tenants.tasks.tenants_dispatch_task",
        "schedule": crontab(minute=7),
        "kwargs": {"task_name": "analytics.tasks.analytics_nightly_task"},
        "options": {"queue": "default", "expires": 1800},
    },
    # Partitions of the coming months are created ahead (an insert never waits for DDL) and months past
    # retention are dropped whole: public tables (audit, validation log) keep the longest tenant's
    # data_retention_days, tenant tables (sync logs, deliveries) the tenant's own, RFM snapshots 12
    # months, segment sizes 24, raw payloads and webhook bodies their own settings (cdp/ops/retention.py).
    "ops-retention-public": {
        "task": "cdp.ops.tasks.retention_public_task",
        "schedule": crontab(minute=51, hour=3),
        "options": {"queue": "default", "expires": 3600},
    },
    "ops-retention-per-tenant": {
        "task": "tenants.tasks.tenants_dispatch_task",
        "schedule": crontab(minute=55, hour=3),
        "kwargs": {"task_name": "cdp.ops.tasks.retention_tenant_task"},
        "options": {"queue": "default", "expires": 3600},
    },
    # Daily backup with retention (CDP_BACKUP_KEEP) when CDP_BACKUP_DIR is set: a base backup of the
    # embedded server (WAL is archived continuously in between) or a pg_dump of DATABASE_URL.
    "ops-backup-daily": {
        "task": "cdp.ops.tasks.backup_task",
        "schedule": crontab(minute=30, hour=1),
        "options": {"queue": "default", "expires": 6 * 3600},
    },
}
