"""License validation (public host) and the tenant's license, usage and releases (tenant host)."""

from __future__ import annotations

import json

from django.db import connection
from django.http import FileResponse, HttpResponse, HttpResponseRedirect
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp.api.errors import error_body
from cdp.api.viewsets import ReadOnlyViewSet
from cdp.context import actor_from_request, client_ip
from cdp.exceptions import ApplicationError
from licensing import signing
from licensing.api import serializers
from licensing.selectors import license_usage, releases_for_tenant
from licensing.services import license_validate, release_download, validation_body

MAX_BODY = 4096


def signed_response(body: bytes, *, status: int = 200, headers: dict | None = None) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type="application/json")
    response["X-Signature"] = signing.sign(body)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def parse_validation_request(raw: bytes) -> tuple[dict | None, dict]:
    """(clean input, field errors). Checked by hand: this runs on every validation."""
    if len(raw) > MAX_BODY:
        return None, {"non_field_errors": ["The request body is too large."]}
    try:
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        return None, {"non_field_errors": ["The body must be a JSON object."]}
    if not isinstance(data, dict):
        return None, {"non_field_errors": ["The body must be a JSON object."]}
    errors: dict[str, list[str]] = {}
    key = data.get("key")
    if not isinstance(key, str) or not key.strip():
        errors["key"] = ["A license key (string) is required."]
    elif len(key) > 200:
        errors["key"] = ["Ensure this field has no more than 200 characters."]
    fingerprint = data.get("fingerprint")
    if fingerprint is not None and (not isinstance(fingerprint, str) or len(fingerprint) > 255):
        errors["fingerprint"] = ["A string of at most 255 characters, or null."]
    nonce = data.get("nonce")
    if nonce is not None and (not isinstance(nonce, str) or not 0 < len(nonce) <= 128):
        errors["nonce"] = ["A string of 1 to 128 characters."]
    if errors:
        return None, errors
    return {"key": key, "fingerprint": (fingerprint or "").strip() or None, "nonce": nonce}, {}


class LicenseValidateView(APIView):
    """Validate a license key for a machine. Always HTTP 200 with ``meta.code`` (429 when rate
    limited, 400 for a malformed request); every answer is signed in ``X-Signature``."""

    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]
    throttle_classes = []  # per-key and per-IP limits are part of the answer (RATE_LIMITED)

    @extend_schema(
        operation_id="license_validate",
        request=serializers.LicenseValidateInputSerializer,
        responses={200: serializers.LicenseValidateOutputSerializer,
                   400: OpenApiResponse(description='Malformed request: {"error": {"code", "message", "fields"}}'),
                   429: serializers.LicenseValidateOutputSerializer},
        auth=[],
    )
    def post(self, request):
        return validation_response(request.body, request.META)


def validation_response(raw_body: bytes, meta: dict) -> HttpResponse:
    """The signed answer to one validation request (shared by the view and the fast path)."""
    clean, errors = parse_validation_request(raw_body)
    if clean is None:
        message = errors.get("non_field_errors", ["Some fields are invalid."])[0]
        body = json.dumps(error_body(ApplicationError.code, message, errors), separators=(",", ":")).encode()
        return signed_response(body, status=400)
    result = license_validate(key=clean["key"], fingerprint=clean["fingerprint"], ip=client_ip(meta))
    headers = {"Retry-After": str(result.retry_after)} if result.retry_after else None
    return signed_response(validation_body(result, nonce=clean["nonce"]), status=result.http_status,
                           headers=headers)


class PublicKeyView(APIView):
    """The Ed25519 public key that verifies validation answers and offline license files."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(operation_id="license_public_key", responses=serializers.PublicKeyOutputSerializer, auth=[])
    def get(self, request):
        return Response({"public_key": signing.public_key_pem()})


class LicenseSummaryView(APIView):
    """This tenant's license, entitlements, usage against each limit and recent warnings."""

    @extend_schema(operation_id="license_summary", responses=serializers.LicenseSummaryOutputSerializer)
    def get(self, request):
        usage = license_usage(tenant=connection.tenant)
        return Response(serializers.LicenseSummaryOutputSerializer(usage).data)


class ReleaseViewSet(ReadOnlyViewSet):
    """Releases of the products this tenant owns; ``download`` needs a valid license."""

    serializer_class = serializers.ReleaseOutputSerializer
    ordering = ("product__name", "-major", "-minor", "-patch", "-prerelease", "-id")
    ordering_fields = ["published_at", "version", "status"]
    filterset_fields = ["status", "is_critical", "product__code"]
    search_fields = ["version", "product__code", "product__name"]

    def get_queryset(self):
        return releases_for_tenant(tenant=connection.tenant).order_by(*self.ordering)

    @extend_schema(operation_id="release_download",
                   responses={(200, "application/octet-stream"): bytes,
                              302: OpenApiResponse(description="Redirect to the external download URL"),
                              403: OpenApiResponse(description="license_required"),
                              404: OpenApiResponse(description="not visible to this tenant")})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        release = self.get_object()  # an id that is not a number, or not visible here, is a 404
        grant = release_download(release_id=release.pk, tenant=connection.tenant, actor=actor_from_request(request),
                                 user_agent=request.META.get("HTTP_USER_AGENT", ""))
        return release_file_response(grant.release)


def release_file_response(release):
    """The file itself (with its SHA-256 in ``X-Checksum-SHA256``), or a redirect to its URL."""
    if release.artifact:
        response = FileResponse(release.artifact.open("rb"), as_attachment=True,
                                filename=release.artifact.name.rsplit("/", 1)[-1])
    else:
        response = HttpResponseRedirect(release.download_url)
    response["X-Checksum-SHA256"] = release.sha256
    return response
