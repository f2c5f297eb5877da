from django.shortcuts import render

from cdp.api.errors import json_error_response


def public_home(request):
    return render(request, "public/home.html")


def not_found(request, exception=None):
    """JSON in the API's error shape under ``/api/``, a page everywhere else."""
    if request.path.startswith("/api/"):
        return json_error_response(404, "not_found", "No such endpoint or object.")
    return render(request, "404.html", status=404)
