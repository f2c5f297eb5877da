"""The portal's AI page: draft a message for a segment (queued for the worker) and the
organization's AI tasks with this month's spend against its budget."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django.utils.translation import gettext as _

from ai.forms import MessageDraftForm, SegmentConfirmForm, SegmentDraftForm
from ai.models import ProcessedTask
from ai.selectors import SEGMENT_DRAFT, policy_for, roi_by_feature, segment_draft_read, spend_month, tasks_for_tenant
from ai.services.features import LANGUAGES, message_draft_request
from ai.services.customer_summaries import customer_summary_request
from ai.services.segment_drafts import segment_draft_confirm, segment_draft_request
from cdp.admin_mixins import form_errors_add
from cdp.context import actor_from_request
from cdp.exceptions import ApplicationError, NotFound
from tenants.roles import ANALYTICS, WRITE
from tenants.views import paginate, portal_page


@portal_page(ANALYTICS)
def assistant(request):
    tenant = connection.tenant
    language = (tenant.setting("language") or "en")[:2]
    form = MessageDraftForm(request.POST or None, initial={"language": language})
    if request.method == "POST":
        if WRITE not in request.capabilities:
            raise PermissionDenied(_("Drafting needs the write permission."))
        if form.is_valid():
            try:
                task = message_draft_request(tenant=tenant, actor=actor_from_request(request), **form.cleaned_data)
            except ApplicationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(request, _("Draft #%(id)s queued: it appears below once ready.") % {"id": task.pk})
                return redirect("ai:assistant")
    policy = policy_for(tenant=tenant)
    return render(request, "ai/assistant.html", {
        "form": form, "can_write": WRITE in request.capabilities, "policy": policy,
        "spent": spend_month(tenant=tenant), "roi": roi_by_feature(tenant=tenant),
        "page": paginate(request, tasks_for_tenant(tenant=tenant).order_by("-created_at", "-id")),
    })


def _language(tenant) -> str:
    language = (tenant.setting("language") or "en")[:2]
    return language if language in LANGUAGES else "en"


@portal_page(ANALYTICS)
def segment_draft_new(request):
    """Describe customers in words: the draft is queued (the worker asks the AI mesh) and its page
    follows the task until the rules are ready."""
    tenant = connection.tenant
    form = SegmentDraftForm(request.POST or None, initial={"language": _language(tenant)})
    if request.method == "POST" and form.is_valid():
        try:
            task = segment_draft_request(tenant=tenant, actor=actor_from_request(request), **form.cleaned_data)
        except ApplicationError as exc:
            form_errors_add(form, exc)
        else:
            return redirect("ai:segment_draft", pk=task.pk)
    recent = tasks_for_tenant(tenant=tenant).filter(feature=SEGMENT_DRAFT).order_by("-created_at", "-id")[:10]
    return render(request, "ai/segment_draft_new.html", {"form": form, "recent": recent,
                                                         "policy": policy_for(tenant=tenant)})


@portal_page(ANALYTICS)
def segment_draft(request, pk: int):
    """A draft: while the worker runs it the page refreshes itself; then the rules as a sentence,
    how many customers match now, and the form that saves them as a segment."""
    tenant = connection.tenant
    try:
        draft = segment_draft_read(tenant=tenant, task_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    form = SegmentConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            segment = segment_draft_confirm(tenant=tenant, actor=actor_from_request(request), task_id=pk,
                                            **form.cleaned_data)
        except ApplicationError as exc:
            form_errors_add(form, exc)
        else:
            messages.success(request, _("Segment “%(name)s” saved with %(count)s customers.")
                             % {"name": segment.name, "count": segment.member_count})
            return redirect("analytics:segment_detail", pk=segment.pk)
    pending = draft.task.status in (ProcessedTask.Status.QUEUED, ProcessedTask.Status.RUNNING)
    return render(request, "ai/segment_draft.html", {
        "draft": draft, "task": draft.task, "form": form, "pending": pending,
        "saved": draft.task.outcome == ProcessedTask.Outcome.ACCEPTED,
    })


@require_POST
@portal_page(ANALYTICS)
def customer_summary(request, pk: int):
    """Ask for the AI summary of a customer (the Customer 360's button): queued for the worker, or
    the cached one when the customer has not changed."""
    try:
        _task, created = customer_summary_request(tenant=connection.tenant, actor=actor_from_request(request),
                                              customer_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        messages.error(request, exc.as_text())
    else:
        messages.success(request, _("The summary is being written; it appears here in a moment.") if created
                         else _("The summary is up to date."))
    return redirect("customers:detail", pk=pk)
