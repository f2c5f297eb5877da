from django.db import connection
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp.api.viewsets import ListCreateRetrieveDestroyViewSet, ReadOnlyViewSet
from tenants.api import serializers
from tenants.filters import ApiKeyFilter, AuditLogFilter, MembershipFilter, UserSessionFilter
from tenants.models import ApiKey, AuditLog, Membership
from tenants.roles import KEYS, SECURITY
from tenants.selectors import tenant_usage, user_sessions_for_tenant
from tenants.services import (
    actor_from_request,
    api_key_create,
    api_key_revoke,
    user_session_revoke,
    user_sessions_revoke_for_user,
)


class TenantView(APIView):
    """The tenant behind the calling key or session: lets an integrator check a key."""

    @extend_schema(responses=serializers.TenantOutputSerializer, operation_id="tenant_retrieve")
    def get(self, request):
        tenant = connection.tenant
        data = serializers.TenantOutputSerializer(tenant, context={"usage": tenant_usage(tenant=tenant)}).data
        return Response(data)


class ApiKeyViewSet(ListCreateRetrieveDestroyViewSet):
    """The tenant's API keys. The secret is returned once, by create; delete revokes."""

    required_capabilities = {"list": KEYS, "retrieve": KEYS, "create": KEYS, "destroy": KEYS}
    serializer_class = serializers.ApiKeyOutputSerializer
    filterset_class = ApiKeyFilter
    ordering = "-created_at"
    ordering_fields = ["created_at", "last_used_at", "name"]
    search_fields = ["name", "prefix"]

    def get_queryset(self):
        return ApiKey.objects.filter(tenant=connection.tenant).order_by("-created_at", "-id")

    @extend_schema(request=serializers.ApiKeyCreateInputSerializer,
                   responses={201: serializers.ApiKeyCreatedOutputSerializer})
    def create(self, request, *args, **kwargs):
        data = serializers.ApiKeyCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = api_key_create(tenant=connection.tenant, actor=actor_from_request(request), **data.validated_data)
        body = serializers.ApiKeyOutputSerializer(issued.api_key).data | {"key": issued.key}
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request, *args, **kwargs):
        api_key_revoke(api_key_id=self.get_object().pk, tenant=connection.tenant, actor=actor_from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MembershipViewSet(ReadOnlyViewSet):
    """People with access to this tenant and their roles."""

    serializer_class = serializers.MembershipOutputSerializer
    filterset_class = MembershipFilter
    ordering = "user__email"
    ordering_fields = ["created_at", "role", "user__email"]
    search_fields = ["user__email", "user__full_name"]

    def get_queryset(self):
        return Membership.objects.filter(tenant=connection.tenant).select_related("user").order_by("user__email")


class AuditLogViewSet(ReadOnlyViewSet):
    """This tenant's audit trail (admins and owners)."""

    required_capabilities = {"list": KEYS, "retrieve": KEYS}
    serializer_class = serializers.AuditLogOutputSerializer
    filterset_class = AuditLogFilter
    ordering = "-created_at"
    ordering_fields = ["created_at", "action"]
    search_fields = ["action", "resource_type", "actor_label"]

    def get_queryset(self):
        return AuditLog.objects.filter(tenant=connection.tenant).order_by("-created_at", "-id")


class UserSessionViewSet(ReadOnlyViewSet):
    """Sign-in sessions of this tenant's members, opened on this tenant's host.

    For admins and owners, and for API keys issued with the `security` scope. Revoking signs the
    browser out on its next request and writes an audit entry; revoking an ended session returns
    it unchanged. Sessions of other tenants are not found (404)."""

    required_capabilities = {"list": SECURITY, "retrieve": SECURITY, "revoke": SECURITY, "revoke_user": SECURITY}
    serializer_class = serializers.UserSessionOutputSerializer
    filterset_class = UserSessionFilter
    ordering = "-last_seen_at"
    ordering_fields = ["created_at", "last_seen_at"]
    search_fields = ["user__email"]

    def get_queryset(self):
        return user_sessions_for_tenant(tenant=connection.tenant)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if self.request.auth is None:  # signed in through the browser, not with a key
            context["current_session_id"] = getattr(self.request, "user_session_id", None)
        return context

    @extend_schema(request=None, responses={200: serializers.UserSessionOutputSerializer},
                   operation_id="sessions_revoke")
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        session = user_session_revoke(session_id=self.get_object().pk, actor=actor_from_request(request),
                                      tenant=connection.tenant)
        return Response(self.get_serializer(session).data)

    @extend_schema(request=serializers.UserSessionsRevokeUserInputSerializer,
                   responses={200: serializers.UserSessionsRevokedOutputSerializer},
                   operation_id="sessions_revoke_user")
    @action(detail=False, methods=["post"], url_path="revoke-user")
    def revoke_user(self, request):
        data = serializers.UserSessionsRevokeUserInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        count = user_sessions_revoke_for_user(user_id=data.validated_data["user"], actor=actor_from_request(request),
                                              tenant=connection.tenant)
        return Response({"revoked": count})
