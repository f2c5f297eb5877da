"""The portal's AI page: draft a message for a segment (queued for the worker) and the
organization's AI tasks with this month's spend against its budget."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from ai.forms import MessageDraftForm
from ai.selectors import policy_for, spend_month, tasks_for_tenant
from ai.services.features import message_draft_request
from cdp.admin_mixins import form_errors_add
from cdp.context import actor_from_request
from cdp.exceptions import ApplicationError
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
        "spent": spend_month(tenant=tenant),
        "page": paginate(request, tasks_for_tenant(tenant=tenant).order_by("-created_at", "-id")),
    })
