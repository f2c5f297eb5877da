"""Portal pages on a tenant's host: the license, its usage and warnings, and downloads."""

from __future__ import annotations

from django.contrib import messages
from django.db import connection
from django.http import Http404
from django.shortcuts import redirect, render

from cdp.context import actor_from_request
from cdp.exceptions import NotFound, PermissionDenied
from licensing.api.views import release_file_response
from licensing.selectors import license_usage, releases_for_tenant
from licensing.services import release_download
from tenants.views import portal_page


def overview_section(*, tenant, request) -> dict:
    """The overview's plan line and the limits nearest to full (registered in ``cdp.registry``)."""
    usage = license_usage(tenant=tenant)
    rows = sorted((row for row in usage["rows"] if row["used"] is not None), key=lambda row: -(row["percent"] or -1))
    return {"license": usage["license"], "rows": rows[:4], "has_warning": usage["has_warning"]}


@portal_page()
def overview(request):
    tenant = connection.tenant
    usage = license_usage(tenant=tenant)
    license = usage["license"]
    return render(request, "licensing/overview.html", {
        "usage": usage,
        "license": license,
        "machines": list(license.machines.order_by("-last_seen_at", "-id")[:50]) if license else [],
        "features": sorted(usage["entitlements"]["features"].items()),
        "releases": list(releases_for_tenant(tenant=tenant).order_by(
            "product__name", "-major", "-minor", "-patch", "-prerelease")[:50]),
    })


@portal_page()
def release_download_view(request, pk: int):
    try:
        grant = release_download(release_id=pk, tenant=connection.tenant, actor=actor_from_request(request),
                                 user_agent=request.META.get("HTTP_USER_AGENT", ""))
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except PermissionDenied as exc:
        messages.error(request, exc.message)
        return redirect("licensing:overview")
    return release_file_response(grant.release)
