"""Portal pages: the analytics dashboard (server-side SVG charts), runs, data quality, segments."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import connection
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from analytics import builder, charts, selectors
from analytics.api.views import segment_csv_response
from analytics.codes import ErrorCode
from analytics.forms import RunForm, SegmentForm
from analytics.models import CustomerChurn, CustomerClv, ProcessingJob, Segment
from analytics.services import analytics_run_enqueue, segment_create, segment_delete, segment_restore
from cdp import softdelete
from cdp.exceptions import ApplicationError
from cdp.formats import format_money, format_number
from cdp.templatetags.cdp_formats import tenant_currency
from customers.access import Action, log_list
from customers.masking import mask_customer, request_visibility
from customers.selectors.reports import GEOGRAPHY_LEVELS, MAX_DAYS, changes_report, geography_report, update_rate_report
from tenants.roles import ANALYTICS, EXPORT
from cdp.context import actor_from_request
from tenants.views import paginate, portal_page

CHURN_BAND_LABELS = dict(CustomerChurn.Band.choices)
CLV_TIER_LABELS = dict(CustomerClv.Tier.choices)

KPI_DAYS = 90
#: The overview compares these last days of KPIs with the same number of days before them (the
#: analytics page's "30 days" cards are the same period).
OVERVIEW_DAYS = 30


def _customers_url(**params) -> str:
    return f"{reverse('customers:list')}?{urlencode(params)}"


OVERVIEW_LABELS = {"revenue": _lazy("Revenue"), "orders": _lazy("Orders"), "average_order_value": _lazy("Average order"),
                   "active_customers": _lazy("Active customers")}


def overview_section(*, tenant, request) -> dict:
    """The headline of the portal's overview (registered in ``cdp.registry``): the period figures
    with their change, the RFM and churn distributions and the CLV total, each linking to the
    customer list filtered to the people behind it. Every figure comes from
    ``selectors.overview_figures``, which totals the KPIs the way the analytics page does."""
    figures = selectors.overview_figures(period_days=OVERVIEW_DAYS)
    if figures["as_of"] is None:
        return {"empty": True, "can_run": "analytics" in request.capabilities, "run_form": RunForm(),
                "has_customers": selectors.customers_exist()}
    bought = _customers_url(last_purchase_after=figures["start"].isoformat())
    links = {"revenue": bought, "orders": bought, "average_order_value": bought,
             "active_customers": _customers_url(last_purchase_after=figures["active_since"].isoformat())}
    cards = [{"name": name, "label": OVERVIEW_LABELS[name], "href": links[name], "money": name in ("revenue", "average_order_value"),
              **figure} for name, figure in figures["figures"].items()]
    features = {key: tenant.feature_enabled(key) for key in ("rfm_analysis", "clv_prediction", "churn_detection")}
    return {
        "empty": False, "as_of": figures["as_of"], "period_days": figures["period_days"], "cards": cards,
        "segments": [{**s, "href": _customers_url(rfm_segment=s["segment"])} for s in figures["segments"]
                     if s["customers"]] if features["rfm_analysis"] else [],
        "churn_bands": [{**b, "label": CHURN_BAND_LABELS.get(b["band"], b["band"]),
                         "href": _customers_url(churn_band=b["band"])} for b in figures["churn_bands"]]
        if features["churn_detection"] else [],
        "clv_total": figures["clv_total"] if features["clv_prediction"] else None,
        "clv_customers": figures["clv_customers"],
        "clv_tiers": [{"tier": tier, "label": CLV_TIER_LABELS.get(tier, tier), "customers": n,
                       "href": _customers_url(clv_tier=tier)} for tier, n in figures["clv_tiers"]],
        "quality": figures["quality"],
    }


@portal_page()
def dashboard_page(request):
    figures = selectors.dashboard_figures(tenant=connection.tenant, kpi_days=KPI_DAYS, period_days=OVERVIEW_DAYS)
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
            messages.success(request, _("Analytics run %(pk)s started.") % {"pk": job.pk})
            return redirect("analytics:run_detail", pk=job.pk)
    else:
        messages.error(request, _("Invalid date."))
    return redirect("analytics:dashboard")


@portal_page()
def run_detail_page(request, pk: int):
    """A run's steps and their progress; while it works, the page follows it live (a small script
    polls ``run_status``; without JavaScript the page refreshes itself)."""
    job = ProcessingJob.objects.filter(pk=pk).first()
    if job is None:
        raise Http404(_("No such run."))
    return render(request, "analytics/run_detail.html", {
        "job": job, "progress": selectors.job_progress(job=job),
        "progress_words": {"count": _("%(done)s of %(total)s steps")}})


@portal_page()
def run_status_view(request, pk: int):
    """A run's progress as JSON (the run page's live progress)."""
    job = ProcessingJob.objects.filter(pk=pk).first()
    if job is None:
        raise Http404(_("No such run."))
    return JsonResponse(selectors.job_progress(job=job))


@portal_page()
def data_quality_page(request):
    return render(request, "analytics/data_quality.html", {"quality": selectors.data_quality_latest()})


class ReportsForm(forms.Form):
    """The reports page's choices (GET): a bad value falls back to the default with the error shown."""

    level = forms.ChoiceField(label=_lazy("Group by"), required=False, initial="country",
                              choices=[("country", _lazy("Country")), ("state", _lazy("State")),
                                       ("city", _lazy("City"))])
    country = forms.RegexField(label=_lazy("Country (ISO code)"), regex=r"^[A-Za-z]{2}$", required=False,
                               max_length=2)
    days = forms.IntegerField(label=_lazy("Days"), min_value=1, max_value=MAX_DAYS, required=False, initial=30)


@portal_page(ANALYTICS)
def reports_page(request):
    """Seed 003's reports: geographic distribution, change analysis and the data-update rate."""
    form = ReportsForm(request.GET or None)
    choice = form.cleaned_data if form.is_bound and form.is_valid() else {}
    level, country, days = choice.get("level") or "country", choice.get("country") or "", choice.get("days") or 30
    tz_name = connection.tenant.setting("timezone")
    geography = geography_report(level=level, country=country, limit=30)
    changes = changes_report(days=days, tz_name=tz_name)
    rate = update_rate_report(days=days, tz_name=tz_name)
    currency = tenant_currency()
    unknown = _("(unknown)")

    # Within one country, its name goes without saying.
    names = [name for name in GEOGRAPHY_LEVELS[level] if not (country and name == "country" and level != "country")]

    def place(row) -> str:
        return " · ".join(row[name] or unknown for name in names)

    context = {
        "form": form, "level": level, "country": country.upper(), "days": days,
        "geography": geography, "changes": changes, "rate": rate,
        "geography_chart": charts.bar_chart(
            [{"label": place(row), "value": row["customers"],
              "note": _("%(revenue)s revenue") % {"revenue": format_money(row["revenue"], currency)}}
             for row in geography["rows"][:15]], title=_("Customers per place")),
        "revenue_chart": charts.bar_chart(
            [{"label": place(row), "value": float(row["revenue"]), "color": "#16a34a"}
             for row in sorted(geography["rows"], key=lambda r: r["revenue"], reverse=True)[:15] if row["revenue"]],
            title=_("Revenue per place")),
        "changes_chart": charts.line_chart([(d["date"].isoformat(), d["changes"]) for d in changes["per_day"]],
                                           title=_("Profile changes per day")),
        "fields_chart": charts.bar_chart([{"label": f["field"], "value": f["changes"]} for f in changes["fields"]],
                                         title=_("Most changed fields")),
        "sources_chart": charts.bar_chart(
            [{"label": s["source"] or _("(system)"), "value": s["changes"], "color": "#9333ea"}
             for s in changes["sources"]], title=_("Changes per origin")),
        "updates_chart": charts.line_chart([(d["date"].isoformat(), d["customers"]) for d in rate["per_day"]],
                                           title=_("Customers updated per day"), color="#16a34a"),
        "completeness_chart": charts.bar_chart(
            [{"label": c["field"], "value": round(c["share"] * 100, 1)} for c in rate["completeness"]],
            title=_("Profiles holding each field (%)")),
    }
    return render(request, "analytics/reports.html", context)


@portal_page()
def segment_list_page(request):
    """The segments and, for holders of ``analytics``, the visual builder (rows of field, operator
    and value in AND/OR groups). Without JavaScript, "Add a group" and "Count" post the builder
    back and the page comes back with it; with it, a small script does both in place."""
    form, state, count = SegmentForm(initial={"is_active": True}), builder.builder_state(None), None
    status = 200
    if request.method == "POST":
        if "analytics" not in request.capabilities:
            raise DjangoPermissionDenied(_("Editing segments needs the analytics capability."))
        state = builder.builder_state(request.POST)
        form = SegmentForm(request.POST)
        if "add" in request.POST:
            state = builder.builder_add(request.POST, request.POST["add"])
            form = SegmentForm(initial={key: request.POST.get(key) for key in ("name", "description")} |
                               {"is_active": bool(request.POST.get("is_active"))})
        elif "preview" in request.POST:
            count = _count_or_error(request.POST)
            form = SegmentForm(initial={key: request.POST.get(key) for key in ("name", "description")} |
                               {"is_active": bool(request.POST.get("is_active"))})
        elif form.is_valid():
            try:
                segment = segment_create(**form.cleaned_data, actor=actor_from_request(request),
                                         tenant=connection.tenant)
            except ApplicationError as exc:
                form.add_error(None if exc.code == ErrorCode.RULES_INVALID else "name", exc.message)
            else:
                messages.success(request, _("Segment “%(name)s” created with %(n)s members.") % {
                    "name": segment.name, "n": format_number(segment.member_count)})
                return redirect("analytics:segment_detail", pk=segment.pk)
        if form.is_bound and form.errors:
            status = 400
    can_edit = "analytics" in request.capabilities
    segments = list(Segment.objects.order_by("name"))
    for segment in segments:
        segment.sentence = builder.rules_sentence(segment.rules)
    return render(request, "analytics/segments.html", {
        "segments": segments, "form": form, "builder": builder.builder_rows(state), "count": count,
        "builder_words": {"choose": _("Choose a field"), "field": _("Field"), "comparison": _("Comparison"),
                          "value": _("Value"), "upper": _("Upper value"), "remove": _("Remove"),
                          "group": _("Group %(n)s"), "all": _("All of these conditions"),
                          "any": _("Any of these conditions"), "add": _("Add a condition"),
                          "combine": _("How the conditions combine"),
                          "and": _("and"), "error": _("The count is not available right now.")},
        "can_edit": can_edit, "deleted": softdelete.restorable(Segment) if can_edit else (),
    }, status=status)


def _count_or_error(data) -> dict:
    try:
        rules = builder.rules_from_post(data)
    except ApplicationError as exc:
        return {"error": exc.message}
    n = selectors.segment_rules_count(rules=rules)
    return {"count": n, "text": ngettext("%(n)s customer matches", "%(n)s customers match", n) % {
        "n": format_number(n)}, "sentence": builder.rules_sentence(rules)}


@portal_page("analytics")
@require_POST
def segment_count_view(request):
    """The builder's live count: how many customers the rows being built select now (JSON)."""
    result = _count_or_error(request.POST)
    return JsonResponse(result, status=400 if "error" in result else 200)


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
        "segment": segment, "page": page, "sentence": builder.rules_sentence(segment.rules),
        "counts_chart": charts.line_chart([(c.date.isoformat(), c.members) for c in counts],
                                          title=_("Members over time")),
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


