from rest_framework.throttling import SimpleRateThrottle

from tenants.models import ApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Per-key request rate (``CDP_API_KEY_RATE``); signed-in users are limited per user, others per IP."""

    scope = "api_key"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            ident = f"key-{request.auth.pk}"
        elif request.user and request.user.is_authenticated and request.user.pk:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
