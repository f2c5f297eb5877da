from django.urls import path
from rest_framework.routers import SimpleRouter

from analytics.api import exports, reports, views

router = SimpleRouter(trailing_slash=True)
router.register("analytics/runs", views.RunViewSet, basename="analytics-run")
router.register("analytics/rfm/definitions", views.RfmDefinitionViewSet, basename="analytics-rfm-definition")
router.register("analytics/rfm", views.RfmViewSet, basename="analytics-rfm")
router.register("analytics/clv", views.ClvViewSet, basename="analytics-clv")
router.register("analytics/churn", views.ChurnViewSet, basename="analytics-churn")
router.register("analytics/kpis", views.KpiViewSet, basename="analytics-kpi")
router.register("analytics/ad-performance", views.AdPerformanceViewSet, basename="analytics-ad-performance")
router.register("analytics/segments", views.SegmentViewSet, basename="analytics-segment")
router.register("analytics/exports", exports.ExportRequestViewSet, basename="analytics-export")

urlpatterns = [
    path("analytics/reports/geography/", reports.GeographyReportView.as_view(), name="analytics-report-geography"),
    path("analytics/reports/changes/", reports.ChangesReportView.as_view(), name="analytics-report-changes"),
    path("analytics/reports/update-rate/", reports.UpdateRateReportView.as_view(),
         name="analytics-report-update-rate"),
    path("analytics/cohorts/", views.CohortView.as_view(), name="analytics-cohorts"),
    path("analytics/data-quality/", views.DataQualityView.as_view(), name="analytics-data-quality"),
    path("analytics/segments/<id:pk>/export.csv", views.SegmentViewSet.as_view({"get": "export"}),
         name="analytics-segment-export"),
] + router.urls
