from django.db import connection
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework import serializers as drf_serializers
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp.api.viewsets import (
    BaseViewSetMixin,
    ListCreateRetrieveDestroyViewSet,
    ReadOnlyViewSet,
    TenantScopedViewSetMixin,
)
from cdp.context import actor_from_request
from tenants.api import serializers
from tenants.api.permissions import request_capabilities
from tenants.filters import ApiKeyFilter, AuditLogFilter, InvitationFilter, MembershipFilter, UserSessionFilter
from tenants.models import ApiKey, AuditLog, Invitation, Membership
from tenants.roles import AUDIT, KEYS, MEMBERS, READ, SECURITY
from tenants.selectors import tenant_usage, user_sessions_for_tenant
from tenants.services.privacy import privacy_grants_get, privacy_grants_set
from tenants.services import (
    api_key_create,
    api_key_revoke,
    invitation_create,
    invitation_revoke,
    membership_remove,
    membership_role_change,
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


class ApiKeyViewSet(TenantScopedViewSetMixin, ListCreateRetrieveDestroyViewSet):
    """The tenant's API keys. The secret is returned once, by create; delete revokes."""

    required_capabilities = {"list": KEYS, "retrieve": KEYS, "create": KEYS, "destroy": KEYS}
    serializer_class = serializers.ApiKeyOutputSerializer
    filterset_class = ApiKeyFilter
    queryset = ApiKey.objects.all()
    ordering = ("-created_at", "-id")
    ordering_fields = ["created_at", "last_used_at", "name"]
    search_fields = ["name", "prefix"]

    @extend_schema(request=serializers.ApiKeyCreateInputSerializer,
                   responses={201: serializers.ApiKeyCreatedOutputSerializer})
    def create(self, request, *args, **kwargs):
        data = serializers.ApiKeyCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = api_key_create(tenant=connection.tenant, actor=actor_from_request(request),
                                capabilities=request_capabilities(request), **data.validated_data)
        body = serializers.ApiKeyOutputSerializer(issued.api_key).data | {"key": issued.key}
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request, *args, **kwargs):
        api_key_revoke(api_key_id=self.get_object().pk, tenant=connection.tenant, actor=actor_from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MembershipViewSet(TenantScopedViewSetMixin, BaseViewSetMixin, mixins.ListModelMixin,
                        mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """People with access to this tenant and their roles (everyone with ``read`` sees them).

    Managing them needs ``members`` and follows the role hierarchy: only owners grant, change
    or remove the owner and admin roles; admins (and keys, which rank as admins) manage analysts
    and viewers; the last owner is never demoted nor removed (409 ``last_owner``). People join
    only by accepting an e-mail invitation (`invite`); its link is never returned."""

    required_capabilities = {"list": READ, "retrieve": READ, "partial_update": MEMBERS, "destroy": MEMBERS,
                             "invite": MEMBERS}
    serializer_class = serializers.MembershipOutputSerializer
    filterset_class = MembershipFilter
    queryset = Membership.objects.select_related("user")
    ordering = ("user__email", "id")
    ordering_fields = ["created_at", "role", "user__email"]
    search_fields = ["user__email", "user__full_name"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(request=serializers.MembershipRoleInputSerializer,
                   responses=serializers.MembershipOutputSerializer)
    def partial_update(self, request, pk=None):
        data = serializers.MembershipRoleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = membership_role_change(membership_id=self.get_object().pk, tenant=connection.tenant,
                                            role=data.validated_data["role"], actor=actor_from_request(request))
        return Response(serializers.MembershipOutputSerializer(membership).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        membership_remove(membership_id=self.get_object().pk, tenant=connection.tenant,
                          actor=actor_from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=serializers.InvitationCreateInputSerializer,
                   responses={201: serializers.InvitationOutputSerializer}, operation_id="members_invite")
    @action(detail=False, methods=["post"], filterset_class=None)
    def invite(self, request):
        """Invite an e-mail address with a role; the link goes to that mailbox only (7 days, once)."""
        data = serializers.InvitationCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = invitation_create(tenant=connection.tenant, actor=actor_from_request(request),
                                       scheme=request.scheme, port=request.get_port(), **data.validated_data)
        return Response(serializers.InvitationOutputSerializer(invitation).data, status=status.HTTP_201_CREATED)


class InvitationViewSet(TenantScopedViewSetMixin, BaseViewSetMixin, mixins.ListModelMixin,
                        mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Pending invitations (``members``); delete withdraws one (its link stops working)."""

    required_capabilities = {"list": MEMBERS, "retrieve": MEMBERS, "destroy": MEMBERS}
    serializer_class = serializers.InvitationOutputSerializer
    filterset_class = InvitationFilter
    queryset = Invitation.objects.all()
    ordering = ("-created_at", "-id")
    ordering_fields = ["created_at", "email"]
    search_fields = ["email"]

    def get_queryset(self):
        return super().get_queryset().pending()

    @extend_schema(responses={204: None})
    def destroy(self, request, *args, **kwargs):
        invitation_revoke(invitation_id=self.get_object().pk, tenant=connection.tenant,
                          actor=actor_from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AuditLogViewSet(TenantScopedViewSetMixin, ReadOnlyViewSet):
    """This tenant's audit trail (the ``audit`` capability: admins and owners, or a key scoped for it)."""

    required_capabilities = {"list": AUDIT, "retrieve": AUDIT}
    serializer_class = serializers.AuditLogOutputSerializer
    filterset_class = AuditLogFilter
    queryset = AuditLog.objects.all()
    ordering = ("-created_at", "-id")
    ordering_fields = ["created_at", "action"]
    search_fields = ["action", "resource_type", "actor_label"]


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
        # Not a tenant column: the sessions of this tenant's members opened on its host
        # (user_session_scope_q), so the selector scopes them rather than TenantScopedViewSetMixin.
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


class PrivacyGrantsInputSerializer(drf_serializers.Serializer):
    grants = drf_serializers.DictField(
        child=drf_serializers.ListField(child=drf_serializers.CharField()),
        help_text='Per role below owner, the capabilities it holds among "unmask" and "sensitive", '
                  'e.g. {"admin": ["unmask", "sensitive"], "analyst": ["unmask"], "viewer": []}.')


class PrivacyGrantsView(APIView):
    """Who sees personal data in full (``unmask``) and reads/changes document, birth date and
    notes (``sensitive``), per role. Anyone managing members may read it; only owners change it
    (a key never: it is not an owner)."""

    required_capabilities = {"get": MEMBERS, "put": MEMBERS}

    @extend_schema(responses=PrivacyGrantsInputSerializer, operation_id="privacy_grants_retrieve")
    def get(self, request):
        return Response({"grants": privacy_grants_get(tenant=connection.tenant)})

    @extend_schema(request=PrivacyGrantsInputSerializer, responses=PrivacyGrantsInputSerializer,
                   operation_id="privacy_grants_update")
    def put(self, request):
        data = PrivacyGrantsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grants = privacy_grants_set(tenant=connection.tenant, grants=data.validated_data["grants"],
                                    actor=actor_from_request(request))
        return Response({"grants": grants})
