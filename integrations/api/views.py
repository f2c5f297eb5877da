"""Integrations API: configuration and sync log, outgoing webhook endpoints, inbound hooks.
Serializers validate, services write, output serializers render. Everything except the inbound
hook needs the ``integrations`` capability (owners and admins, or a key with that scope)."""

from __future__ import annotations

from django.db import connection
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp.api.viewsets import BaseViewSetMixin
from integrations import selectors, services
from integrations.api import serializers
from integrations.api.throttling import VtexHookThrottle
from integrations.codes import ErrorCode
from integrations.filters import IntegrationFilter, SyncLogFilter, WebhookDeliveryFilter, WebhookEndpointFilter
from tenants.models import Tenant
from tenants.roles import INTEGRATIONS
from cdp.context import actor_from_request

ALL_ACTIONS = ("list", "retrieve", "create", "update", "partial_update", "destroy", "sync", "syncs",
               "deliveries", "redeliver", "ping")


class IntegrationsCapability:
    required_capabilities = {name: INTEGRATIONS for name in ALL_ACTIONS}


class IntegrationViewSet(IntegrationsCapability, BaseViewSetMixin, mixins.ListModelMixin,
                         mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Source connections (VTEX, MercadoLibre, Google Ads, Facebook Ads, CRM webhook). Credentials
    are write-only: answers only say whether some are stored."""

    serializer_class = serializers.IntegrationOutputSerializer
    filterset_class = IntegrationFilter
    ordering = ["integration_type", "account_name", "id"]
    ordering_fields = ["id", "integration_type", "account_name", "last_sync_at", "created_at"]
    search_fields = ["account_name"]

    def get_queryset(self):
        if self.action == "syncs":
            return selectors.sync_log_list(integration_id=self.kwargs.get("pk"))
        return selectors.integration_list()

    @extend_schema(request=serializers.IntegrationCreateInputSerializer,
                   responses={201: serializers.IntegrationOutputSerializer})
    def create(self, request):
        data = serializers.IntegrationCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        integration = services.integration_create(actor=actor_from_request(request), **data.validated_data)
        return Response(serializers.IntegrationOutputSerializer(integration).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.IntegrationUpdateInputSerializer,
                   responses=serializers.IntegrationOutputSerializer)
    def partial_update(self, request, pk=None):
        data = serializers.IntegrationUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        integration = services.integration_update(integration_id=selectors.integration_get(integration_id=pk).pk,
                                                  actor=actor_from_request(request), **data.validated_data)
        return Response(serializers.IntegrationOutputSerializer(integration).data)

    @extend_schema(request=serializers.IntegrationUpdateInputSerializer,
                   responses=serializers.IntegrationOutputSerializer)
    def update(self, request, pk=None):
        return self.partial_update(request, pk)

    def destroy(self, request, pk=None):
        services.integration_delete(integration_id=selectors.integration_get(integration_id=pk).pk,
                                    actor=actor_from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={202: serializers.SyncRequestOutputSerializer})
    @action(detail=True, methods=["post"])
    def sync(self, request, pk=None):
        """Queue a sync on the worker (queue ``syncs``); 409 ``sync_running`` if one is running."""
        integration = selectors.integration_get(integration_id=pk)
        integration = services.integration_sync_request(integration_id=integration.pk,
                                                        actor=actor_from_request(request))
        integration.refresh_from_db()
        return Response({"status": "queued", "integration": serializers.IntegrationOutputSerializer(integration).data},
                        status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=serializers.SyncLogOutputSerializer(many=True), filters=True)
    @action(detail=True, methods=["get"], filterset_class=SyncLogFilter, ordering=["-started_at", "-id"],
            ordering_fields=["started_at", "id"], search_fields=[])
    def syncs(self, request, pk=None):
        """The sync log: status, pages, records created/updated/rejected, duration, error text."""
        integration = selectors.integration_get(integration_id=pk)
        queryset = self.filter_queryset(selectors.sync_log_list(integration_id=integration.pk))  # after the 404 check
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializers.SyncLogOutputSerializer(page, many=True).data)


class WebhookEndpointViewSet(IntegrationsCapability, BaseViewSetMixin, mixins.ListModelMixin,
                             mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Outgoing webhook endpoints. The signing secret is returned once, by create."""

    serializer_class = serializers.WebhookEndpointOutputSerializer
    filterset_class = WebhookEndpointFilter
    ordering = ["-created_at", "-id"]
    ordering_fields = ["id", "created_at", "url"]
    search_fields = ["url", "description"]

    def get_queryset(self):
        if self.action == "deliveries":
            return selectors.webhook_delivery_list(endpoint_id=self.kwargs.get("pk"))
        return selectors.webhook_endpoint_list()

    @extend_schema(request=serializers.WebhookEndpointCreateInputSerializer,
                   responses={201: serializers.WebhookEndpointCreatedOutputSerializer})
    def create(self, request):
        data = serializers.WebhookEndpointCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint, secret = services.webhook_endpoint_create(actor=actor_from_request(request), **data.validated_data)
        body = serializers.WebhookEndpointOutputSerializer(endpoint).data
        return Response({**body, "secret": secret}, status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.WebhookEndpointUpdateInputSerializer,
                   responses=serializers.WebhookEndpointOutputSerializer)
    def partial_update(self, request, pk=None):
        data = serializers.WebhookEndpointUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_update(
            endpoint_id=selectors.webhook_endpoint_get(endpoint_id=pk).pk, actor=actor_from_request(request),
            **data.validated_data)
        return Response(serializers.WebhookEndpointOutputSerializer(endpoint).data)

    @extend_schema(request=serializers.WebhookEndpointUpdateInputSerializer,
                   responses=serializers.WebhookEndpointOutputSerializer)
    def update(self, request, pk=None):
        return self.partial_update(request, pk)

    def destroy(self, request, pk=None):
        services.webhook_endpoint_delete(endpoint_id=selectors.webhook_endpoint_get(endpoint_id=pk).pk,
                                        actor=actor_from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=serializers.WebhookDeliveryOutputSerializer(many=True), filters=True)
    @action(detail=True, methods=["get"], filterset_class=WebhookDeliveryFilter, ordering=["-created_at", "-id"],
            ordering_fields=["created_at", "id"], search_fields=[])
    def deliveries(self, request, pk=None):
        """The delivery log of this endpoint, newest first."""
        endpoint = selectors.webhook_endpoint_get(endpoint_id=pk)
        queryset = self.filter_queryset(selectors.webhook_delivery_list(endpoint_id=endpoint.pk))
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializers.WebhookDeliveryOutputSerializer(page, many=True).data)

    @extend_schema(request=serializers.RedeliverInputSerializer,
                   responses={202: serializers.WebhookDeliveryOutputSerializer})
    @action(detail=True, methods=["post"])
    def redeliver(self, request, pk=None):
        """Send a past delivery again (a new delivery with the same event id)."""
        data = serializers.RedeliverInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = selectors.webhook_endpoint_get(endpoint_id=pk)
        delivery = services.webhook_redeliver(endpoint_id=endpoint.pk, delivery_id=data.validated_data["delivery_id"],
                                              actor=actor_from_request(request))
        delivery.refresh_from_db()
        return Response(serializers.WebhookDeliveryOutputSerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: serializers.WebhookDeliveryOutputSerializer})
    @action(detail=True, methods=["post"])
    def ping(self, request, pk=None):
        """Queue a signed ``webhook.ping`` (202, delivery ``pending``); the worker sends it once and
        the receiver's answer shows in ``deliveries/`` (filter ``event=webhook.ping``)."""
        endpoint = selectors.webhook_endpoint_get(endpoint_id=pk)
        delivery = services.webhook_ping(endpoint_id=endpoint.pk, actor=actor_from_request(request))
        return Response(serializers.WebhookDeliveryOutputSerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class ActiveTenant(BasePermission):
    """The tenant of this host is active: a suspended tenant's hooks get the answer its API gets
    (403 ``tenant_inactive``)."""

    def has_permission(self, request, view) -> bool:
        tenant = getattr(connection, "tenant", None)
        if tenant is not None and tenant.schema_name != "public" and tenant.status != Tenant.Status.ACTIVE:
            raise exceptions.PermissionDenied(f"This tenant is {tenant.status}.", code=ErrorCode.TENANT_INACTIVE)
        return True


class VtexHookView(APIView):
    """VTEX order-status hook. Authenticated by the integration's ``hook_secret`` credential in
    the ``X-CDP-Hook-Secret`` header (no API key); queues a fetch and ingest of the order.
    Throttled per integration and client address (INTEGRATIONS_VTEX_HOOK_RATE, 429)."""

    authentication_classes: list = []
    permission_classes = [ActiveTenant]
    throttle_classes = [VtexHookThrottle]

    @extend_schema(request=serializers.VtexHookInputSerializer, responses=serializers.HookOutputSerializer,
                   auth=[], operation_id="hooks_vtex")
    def post(self, request, integration_id: int):
        result = services.vtex_hook_receive(integration_id=integration_id,
                                            secret=request.headers.get("X-CDP-Hook-Secret", ""), payload=request.data)
        return Response(result, status=status.HTTP_200_OK)
