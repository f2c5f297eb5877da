from django.http import HttpResponseServerError
from django.shortcuts import render
from django.template import loader

from cdp.api.errors import json_error_response
from cdp.codes import ErrorCode
from cdp.ops.logs import current_request_id


def public_home(request):
    return render(request, "public/home.html")


def not_found(request, exception=None):
    """JSON in the API's error shape under ``/api/``, a page everywhere else."""
    if request.path.startswith("/api/"):
        return json_error_response(404, ErrorCode.NOT_FOUND, "No such endpoint or object.")
    return render(request, "404.html", status=404)


def server_error(request):
    """The product's own 500: JSON in the API's error shape under ``/api/``, a self-contained page
    elsewhere. It renders without a request context on purpose: whatever failed (the database, a
    context processor) must not fail the error page too. Both give the request id, under which
    the error is recorded (tenants.SystemEvent), for support to find it."""
    reference = current_request_id() or ""
    if request.path.startswith("/api/"):
        return json_error_response(500, ErrorCode.SERVER_ERROR, "Something went wrong on our side. It was recorded; "
                                   "try again, and contact support with this reference if it persists"
                                   + (f": {reference}." if reference else "."))
    return HttpResponseServerError(loader.get_template("500.html").render({"reference": reference}))
