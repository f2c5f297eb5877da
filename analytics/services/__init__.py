"""Every analytics write goes through these services (one module per topic)."""

from analytics.services.churn import churn_compute
from analytics.services.clv import clv_compute
from analytics.services.jobs import (
    analytics_nightly_run,
    analytics_run,
    analytics_run_enqueue,
    analytics_run_execute,
    analytics_run_start,
    tenant_today,
)
from analytics.services.metrics import cohorts_compute, kpis_compute
from analytics.services.quality import data_quality_check
from analytics.services.rfm import rfm_compute, rfm_definition_update, rfm_definitions_ensure
from analytics.services.segments import (
    segment_create,
    segment_delete,
    segment_restore,
    segments_purge,
    segment_materialize,
    segment_update,
    segments_materialize,
)

__all__ = [
    "analytics_nightly_run",
    "analytics_run",
    "analytics_run_enqueue",
    "analytics_run_execute",
    "analytics_run_start",
    "churn_compute",
    "clv_compute",
    "cohorts_compute",
    "data_quality_check",
    "kpis_compute",
    "rfm_compute",
    "rfm_definition_update",
    "rfm_definitions_ensure",
    "segment_create",
    "segment_delete",
    "segment_restore",
    "segments_purge",
    "segment_materialize",
    "segment_update",
    "segments_materialize",
    "tenant_today",
]
