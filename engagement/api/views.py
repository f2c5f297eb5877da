"""Engagement API: templates, notifications, campaigns, and the providers' status webhooks.
Reads need ``read``; creating templates and campaigns and sending need ``write`` (owners,
admins, keys with that scope). The webhooks take no key: a signature proves the sender."""

from __future__ import annotations

import json

from django.db import connection
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp.api.viewsets import BaseViewSetMixin
from cdp.context import actor_from_request
from cdp.ids import get_or_not_found
from engagement import conf, selectors
from engagement.api import serializers
from engagement.filters import CampaignFilter, MessageTemplateFilter, NotificationFilter
from engagement.models import MessageTemplate
from engagement.services.audiences import audience_destination_create, audience_sync_request
from engagement.services.campaigns import campaign_create, campaign_preview, campaign_send
from engagement.services.triggers import trigger_rule_create
from engagement.services.templates import message_template_create, message_template_preview
from engagement.services.webhooks import twilio_status_apply, whatsapp_challenge, whatsapp_statuses_apply, \
    whatsapp_verify
from tenants.models import Tenant
from tenants.roles import READ, WRITE


class MessageTemplateViewSet(BaseViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                             viewsets.GenericViewSet):
    """Templates per channel and language; a create with an existing name, channel and language
    saves its next version."""

    serializer_class = serializers.MessageTemplateOutputSerializer
    filterset_class = MessageTemplateFilter
    ordering = ["name", "channel", "language", "-version"]
    ordering_fields = ["id", "name", "version", "created_at"]
    search_fields = ["name"]
    required_capabilities = {"preview": READ, "create": WRITE}

    def get_queryset(self):
        return selectors.message_template_list()

    @extend_schema(request=serializers.MessageTemplateCreateInputSerializer,
                   responses={201: serializers.MessageTemplateOutputSerializer})
    def create(self, request):
        data = serializers.MessageTemplateCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        template = message_template_create(actor=actor_from_request(request), **data.validated_data)
        return Response(serializers.MessageTemplateOutputSerializer(template).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.TemplatePreviewInputSerializer,
                   responses=serializers.TemplatePreviewOutputSerializer)
    @action(detail=True, methods=["post"])
    def preview(self, request, pk=None):
        """The template rendered for a real customer; nothing is stored or sent."""
        template = get_or_not_found(MessageTemplate, pk, "Template not found.")
        data = serializers.TemplatePreviewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(message_template_preview(template_id=template.pk, customer_id=data.validated_data["customer"],
                                                 context=data.validated_data["context"]))


class NotificationViewSet(BaseViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          viewsets.GenericViewSet):
    """The message queue: what was sent to whom, on which channel, and what became of it."""

    serializer_class = serializers.NotificationOutputSerializer
    filterset_class = NotificationFilter
    ordering = ["-created_at", "-id"]
    ordering_fields = ["id", "created_at", "sent_at", "status"]
    search_fields = []

    def get_queryset(self):
        return selectors.notification_list()


class CampaignViewSet(BaseViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Campaigns to a segment: create (a draft), preview who it reaches, send (202), and follow
    its counts by status while it goes out."""

    serializer_class = serializers.CampaignOutputSerializer
    filterset_class = CampaignFilter
    ordering = ["-created_at", "-id"]
    ordering_fields = ["id", "created_at", "name"]
    search_fields = ["name"]
    required_capabilities = {"create": WRITE, "send": WRITE, "preview": READ, "results": READ}

    def get_queryset(self):
        return selectors.campaign_list()

    @extend_schema(request=serializers.CampaignCreateInputSerializer,
                   responses={201: serializers.CampaignOutputSerializer})
    def create(self, request):
        data = serializers.CampaignCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values, actor = data.validated_data, actor_from_request(request)
        template_id = values.get("template_id")
        if values.get("template"):
            inline = values["template"]
            template_id = message_template_create(
                name=f"campaign: {values['name']}"[:100], channel=values["channel"], actor=actor, **inline).pk
        campaign = campaign_create(name=values["name"], segment_id=values["segment"], template_id=template_id,
                                   actor=actor)
        return Response(serializers.CampaignOutputSerializer(campaign).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={202: serializers.CampaignOutputSerializer})
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        """Start sending (202); 409 ``campaign_not_draft`` when it already started."""
        campaign = selectors.campaign_get(campaign_id=pk)
        campaign = campaign_send(campaign_id=campaign.pk, actor=actor_from_request(request))
        return Response(serializers.CampaignOutputSerializer(campaign).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=serializers.CampaignPreviewOutputSerializer)
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        """How many members the campaign reaches now, and how many it would suppress (no consent)."""
        campaign = selectors.campaign_get(campaign_id=pk)
        return Response(campaign_preview(campaign_id=campaign.pk))

    @extend_schema(parameters=[serializers.CampaignResultsQuerySerializer],
                   responses=serializers.CampaignResultsOutputSerializer, filters=False)
    @action(detail=True, methods=["get"], filter_backends=[])
    def results(self, request, pk=None):
        """Sent, delivered, read, clicked (opt-in tracking), unsubscribed, and the counted sales of
        the recipients within ``days`` after their message (default: the tenant's attribution window)."""
        campaign = selectors.campaign_get(campaign_id=pk)
        query = serializers.CampaignResultsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        days = query.validated_data.get("days") or selectors.engagement_settings().attribution_days
        return Response(selectors.campaign_results(campaign_id=campaign.pk, days=days))


class TriggerRuleViewSet(BaseViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                         viewsets.GenericViewSet):
    """Rules that turn events (a new customer, entering a segment, a worse churn band) into messages."""

    serializer_class = serializers.TriggerRuleOutputSerializer
    ordering = ["event", "id"]
    ordering_fields = ["id", "event", "created_at"]
    search_fields = []
    required_capabilities = {"create": WRITE}

    def get_queryset(self):
        return selectors.trigger_rule_list()

    @extend_schema(request=serializers.TriggerRuleCreateInputSerializer,
                   responses={201: serializers.TriggerRuleOutputSerializer})
    def create(self, request):
        data = serializers.TriggerRuleCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        rule = trigger_rule_create(event=values["event"], template_id=values["template"],
                                   segment_id=values["segment"], actor=actor_from_request(request))
        return Response(serializers.TriggerRuleOutputSerializer(rule).data, status=status.HTTP_201_CREATED)


class AudienceDestinationViewSet(BaseViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                                 viewsets.GenericViewSet):
    """Segments kept in sync with Meta Custom Audiences (hashed e-mail and phone of members with
    marketing consent): matched and invalid counts, the last error; ``sync`` pushes them all (202)."""

    serializer_class = serializers.AudienceDestinationOutputSerializer
    ordering = ["platform", "audience_id", "id"]
    ordering_fields = ["id", "created_at", "last_synced_at"]
    search_fields = []
    required_capabilities = {"create": WRITE, "sync": WRITE}

    def get_queryset(self):
        return selectors.audience_destination_list()

    @extend_schema(request=serializers.AudienceDestinationCreateInputSerializer,
                   responses={201: serializers.AudienceDestinationOutputSerializer})
    def create(self, request):
        data = serializers.AudienceDestinationCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        destination = audience_destination_create(audience_id=data.validated_data["audience_id"],
                                                  segment_id=data.validated_data["segment"],
                                                  platform=data.validated_data["platform"],
                                                  actor=actor_from_request(request))
        return Response(serializers.AudienceDestinationOutputSerializer(destination).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={202: serializers.AudienceDestinationOutputSerializer})
    @action(detail=True, methods=["post"])
    def sync(self, request, pk=None):
        """Queue a full push of the segment's consented members (and removal of the others)."""
        destination = get_or_not_found(selectors.audience_destination_list(), pk, "Destination not found.")
        audience_sync_request(destination_id=destination.pk, actor=actor_from_request(request))
        return Response(serializers.AudienceDestinationOutputSerializer(destination).data,
                        status=status.HTTP_202_ACCEPTED)


class ActiveTenant(BasePermission):
    """A suspended tenant's hooks get the answer its API gets (403 ``tenant_inactive``)."""

    def has_permission(self, request, view) -> bool:
        tenant = getattr(connection, "tenant", None)
        if tenant is None or tenant.schema_name == "public":
            return False
        if tenant.status != Tenant.Status.ACTIVE:
            raise exceptions.PermissionDenied(f"This tenant is {tenant.status}.", code="tenant_inactive")
        return True


class WhatsAppHookView(APIView):
    """WhatsApp Cloud API webhook: GET answers Meta's subscription handshake; POST takes status
    reports, signed with ``X-Hub-Signature-256`` (403 ``webhook_signature_invalid`` otherwise)."""

    authentication_classes: list = []
    permission_classes = [ActiveTenant]

    @extend_schema(responses={200: str}, auth=[], operation_id="engagement_hooks_whatsapp_verify")
    def get(self, request):
        challenge = whatsapp_challenge(mode=request.query_params.get("hub.mode", ""),
                                       token=request.query_params.get("hub.verify_token", ""),
                                       challenge=request.query_params.get("hub.challenge", ""))
        return HttpResponse(challenge[:200], content_type="text/plain")

    @extend_schema(request=dict, responses=serializers.HookOutputSerializer, auth=[],
                   operation_id="engagement_hooks_whatsapp")
    def post(self, request):
        body = request.body  # the raw bytes the signature covers, before any parsing
        whatsapp_verify(body=body, signature=request.headers.get("X-Hub-Signature-256", ""))
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            raise exceptions.ParseError("The body is not JSON.") from None
        return Response({"applied": whatsapp_statuses_apply(payload=payload)})


class TwilioHookView(APIView):
    """Twilio status callback (form-encoded), signed with ``X-Twilio-Signature`` over the URL we
    gave Twilio and the sorted parameters."""

    authentication_classes: list = []
    permission_classes = [ActiveTenant]

    @extend_schema(request=dict, responses=serializers.HookOutputSerializer, auth=[],
                   operation_id="engagement_hooks_twilio")
    def post(self, request):
        params = {key: request.POST.get(key, "") for key in request.POST}
        url = f"{conf.get('ENGAGEMENT_PUBLIC_SCHEME')}://{request.get_host()}{request.get_full_path()}"
        applied = twilio_status_apply(url=url, params=params, signature=request.headers.get("X-Twilio-Signature", ""))
        return Response({"applied": int(applied)})
