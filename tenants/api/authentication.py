from __future__ import annotations

from django.db import connection
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from tenants.models import ApiKey
from tenants.services import api_key_authenticate


class ApiKeyPrincipal:
    """``request.user`` for a request signed with an API key: the key acts for its tenant only."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key
        self.pk = None
        self.id = None
        self.email = f"api-key:{api_key.prefix}"

    def __str__(self) -> str:
        return self.email


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Api-Key <key>``. A key is accepted only on its own tenant's host."""

    keyword = "Api-Key"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, key = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        if not key.strip():
            raise exceptions.AuthenticationFailed("Empty API key.")
        api_key = api_key_authenticate(key)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API key.")
        tenant = getattr(connection, "tenant", None)
        if tenant is None or tenant.pk != api_key.tenant_id:
            # Same answer as an unknown key: a key must not reveal which tenant it belongs to.
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API key.")
        return ApiKeyPrincipal(api_key), api_key

    def authenticate_header(self, request):
        return self.keyword


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.api.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization", "description": "`Api-Key <key>`"}
