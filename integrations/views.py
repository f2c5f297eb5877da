"""Portal pages: integrations with their last sync state, each one's sync log, "Sync now"."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from django.utils.translation import gettext as _

from cdp import softdelete
from cdp.exceptions import ApplicationError, NotFound
from integrations import selectors, services
from integrations.filters import IntegrationFilter, SyncLogFilter
from integrations.models import Integration
from tenants.roles import INTEGRATIONS
from cdp.context import actor_from_request
from tenants.views import filtered, paginate, portal_page


@portal_page(INTEGRATIONS)
def integration_list_page(request):
    filterset = IntegrationFilter(request.GET or None, queryset=selectors.integration_list())
    queryset, status = filtered(filterset)
    return render(request, "integrations/list.html", {"filter": filterset, "page": paginate(request, queryset),
                                                       "deleted": softdelete.restorable(Integration)}, status=status)


@portal_page(INTEGRATIONS)
def integration_detail_page(request, pk: int):
    try:
        integration = selectors.integration_get(integration_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    logs = selectors.sync_log_list(integration_id=pk)
    filterset = SyncLogFilter(request.GET or None, queryset=logs)
    queryset, status = filtered(filterset)
    return render(request, "integrations/detail.html", {"integration": integration, "filter": filterset,
                                                         "page": paginate(request, queryset)}, status=status)


@portal_page(INTEGRATIONS)
@require_POST
def integration_sync_view(request, pk: int):
    try:
        services.integration_sync_request(integration_id=pk, actor=actor_from_request(request))
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        messages.error(request, exc.as_text())
    else:
        messages.success(request, "Sync queued; refresh to follow it.")
    return redirect("integrations:detail", pk=pk)


@portal_page(INTEGRATIONS)
@require_POST
def integration_delete_view(request, pk: int):
    """Delete an integration (restorable from the integrations page for CDP_RESTORE_DAYS days)."""
    try:
        services.integration_delete(integration_id=pk, actor=actor_from_request(request))
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        messages.error(request, exc.as_text())
        return redirect("integrations:detail", pk=pk)
    messages.success(request, _("Integration deleted. You can restore it from this page for %(days)d days.")
                     % {"days": softdelete.restore_days()})
    return redirect("integrations:list")


@portal_page(INTEGRATIONS)
@require_POST
def integration_restore_view(request, pk: int):
    try:
        services.integration_restore(integration_id=pk, actor=actor_from_request(request))
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        messages.error(request, exc.as_text())
    else:
        messages.success(request, _("Integration restored."))
    return redirect("integrations:list")
