"""Portal pages: the analytics dashboard (server-side SVG charts), runs, data quality, segments."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import connection
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from analytics import charts, selectors
from analytics.api.views import segment_csv_response
from analytics.codes import ErrorCode
from analytics.forms import RunForm, SegmentForm
from analytics.models import CustomerChurn, ProcessingJob, Segment
from analytics.services import analytics_run_enqueue, segment_create, segment_delete, segment_restore
from cdp import softdelete
from cdp.exceptions import ApplicationError
from cdp.formats import format_money
from cdp.templatetags.cdp_formats import tenant_currency
from customers.access import Action, log_list
from customers.masking import mask_customer, request_visibility
from tenants.roles import ANALYTICS, EXPORT
from cdp.context import actor_from_request
from tenants.views import paginate, portal_page

CHURN_BAND_LABELS = dict(CustomerChurn.Band.choices)

KPI_DAYS = 90


def _customers_url(**params) -> str:
    return f"{reverse('customers:list')}?{urlencode(params)}"


@portal_page()
def dashboard_page(request):
    figures = selectors.dashboard_figures(tenant=connection.tenant, kpi_days=KPI_DAYS)
    kpis, clv, churn, ads = figures["kpis"], figures["clv"], figures["churn"], figures["ads"]
    cohorts = [{**cohort, "row": [(month, cell, charts.heat_color(cell["retention"]) if cell else "")
                                  for month, cell in cohort["row"]]} for cohort in figures["cohorts"]]
    context = {
        "latest": figures["latest"],
        "revenue_30": figures["revenue"],
        "orders_30": figures["orders"],
        "aov_30": figures["average_order_value"],
        "revenue_chart": charts.line_chart([(k.date.isoformat(), float(k.revenue)) for k in kpis],
                                           title=_("Revenue per day, last %(days)s days") % {"days": KPI_DAYS}),
        "active_chart": charts.line_chart([(k.date.isoformat(), k.active_90) for k in kpis],
                                          title=_("Customers active in the last 90 days"), color="#16a34a"),
        "segments": figures["segments"],
        "segments_chart": charts.bar_chart(
            [{"label": s["name"], "value": s["customers"], "color": s["color"], "note": _("%(revenue)s revenue") % {"revenue": format_money(s["revenue"], tenant_currency())},
              "href": _customers_url(rfm_segment=s["segment"])} for s in figures["segments"] if s["customers"]],
            title=_("Customers per RFM segment")),
        "clv": clv,
        "clv_chart": charts.bar_chart(
            [{"label": f'{h["from"]:,.0f}–{h["to"]:,.0f}', "value": h["customers"]} for h in clv["histogram"]],
            title=_("Customers by total CLV")),
        "clv_tiers": [(tier, n, _customers_url(clv_tier=tier)) for tier, n in figures["clv_tiers"]],
        "churn": churn,
        "churn_chart": charts.bar_chart(
            [{"label": str(CHURN_BAND_LABELS.get(b["band"], b["band"])), "value": b["customers"], "color": b["color"],
              "href": _customers_url(churn_band=b["band"])} for b in figures["churn_bands"]],
            title=_("Customers per churn band")),
        "ads": ads,
        "ads_chart": charts.bar_chart(
            [{"label": c["campaign_name"] or c["channel"], "value": float(c["cac"]),
              "note": _("ROAS %(roas)s") % {"roas": f'{c["roas"]:.2f}' if c["roas"] is not None else "–"}}
             for c in ads["campaigns"] if c["cac"] is not None],
            title=_("Cost to acquire a customer (CAC) per campaign, last 30 days")),
        "cohorts": cohorts,
        "months": figures["months"],
        "quality": figures["quality"],
        "jobs": figures["jobs"],
        "run_form": RunForm(),
        "can_run": "analytics" in request.capabilities,
        "features": figures["features"],
    }
    return render(request, "analytics/dashboard.html", context)


@portal_page("analytics")
@require_POST
def run_start_page(request):
    form = RunForm(request.POST)
    if form.is_valid():
        try:
            job = analytics_run_enqueue(tenant=connection.tenant, actor=actor_from_request(request),
                                        as_of=form.cleaned_data.get("as_of"))
        except ApplicationError as exc:
            messages.error(request, exc.as_text())
        else:
            messages.success(request, f"Analytics run {job.pk} started.")
            return redirect("analytics:run_detail", pk=job.pk)
    else:
        messages.error(request, "Invalid date.")
    return redirect("analytics:dashboard")


@portal_page()
def run_detail_page(request, pk: int):
    job = ProcessingJob.objects.filter(pk=pk).first()
    if job is None:
        raise Http404("No such run.")
    return render(request, "analytics/run_detail.html", {"job": job})


@portal_page()
def data_quality_page(request):
    return render(request, "analytics/data_quality.html", {"quality": selectors.data_quality_latest()})


@portal_page()
def segment_list_page(request):
    form = SegmentForm()
    if request.method == "POST":
        if "analytics" not in request.capabilities:
            raise DjangoPermissionDenied("Editing segments needs the analytics capability.")
        form = SegmentForm(request.POST)
        if form.is_valid():
            try:
                segment = segment_create(**form.cleaned_data, actor=actor_from_request(request),
                                         tenant=connection.tenant)
            except ApplicationError as exc:
                form.add_error("rules" if exc.code == ErrorCode.RULES_INVALID else None, exc.message)
            else:
                messages.success(request, f"Segment “{segment.name}” created with {segment.member_count} members.")
                return redirect("analytics:segment_detail", pk=segment.pk)
    can_edit = "analytics" in request.capabilities
    return render(request, "analytics/segments.html", {
        "segments": Segment.objects.order_by("name"), "form": form, "can_edit": can_edit,
        "deleted": softdelete.restorable(Segment) if can_edit else (),
    })


@portal_page(ANALYTICS)
@require_POST
def segment_delete_page(request, pk: int):
    """Delete a segment (restorable from the segments page for CDP_RESTORE_DAYS days)."""
    try:
        segment_delete(segment_id=pk, actor=actor_from_request(request), tenant=connection.tenant)
    except ApplicationError as exc:
        messages.error(request, exc.as_text())
    else:
        messages.success(request, _("Segment deleted. You can restore it from this page for %(days)d days.")
                         % {"days": softdelete.restore_days()})
    return redirect("analytics:segments")


@portal_page(ANALYTICS)
@require_POST
def segment_restore_page(request, pk: int):
    try:
        segment = segment_restore(segment_id=pk, actor=actor_from_request(request), tenant=connection.tenant)
    except ApplicationError as exc:
        messages.error(request, exc.as_text())
    else:
        messages.success(request, _("Segment “%(name)s” restored.") % {"name": segment.name})
    return redirect("analytics:segments")


@portal_page()
def segment_detail_page(request, pk: int):
    segment = Segment.objects.filter(pk=pk).first()
    if segment is None:
        raise Http404("No such segment.")
    counts = list(segment.counts.order_by("date"))
    page = paginate(request, selectors.segment_members(segment=segment))
    visibility = request_visibility(request)
    page.object_list = [mask_customer(c, visibility) for c in page.object_list]
    log_list(request, rows=len(page.object_list), resource_type="segment", resource_id=segment.pk,
             action=Action.SEGMENT_MEMBERS)
    return render(request, "analytics/segment_detail.html", {
        "segment": segment, "page": page,
        "counts_chart": charts.line_chart([(c.date.isoformat(), c.members) for c in counts],
                                          title="Members over time"),
    })


@portal_page(EXPORT)
def segment_export_page(request, pk: int):
    """Bulk personal data: the ``export`` capability only (owners, admins); audited."""
    segment = Segment.objects.filter(pk=pk).first()
    if segment is None:
        raise Http404("No such segment.")
    try:
        return segment_csv_response(segment, request=request)
    except ApplicationError as exc:  # above the approval threshold: request it (API) first
        raise DjangoPermissionDenied(exc.message) from exc


