from __future__ import annotations

from rest_framework import serializers

from integrations.models import Integration, SyncLog, WebhookDelivery, WebhookEndpoint
from integrations.services.webhooks import WEBHOOK_EVENTS


class IntegrationCreateInputSerializer(serializers.Serializer):
    integration_type = serializers.ChoiceField(choices=Integration.Type.choices)
    account_name = serializers.CharField(max_length=255)
    base_url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")
    config = serializers.DictField(required=False, default=dict)
    credentials = serializers.DictField(write_only=True, help_text="Write-only; stored encrypted, never returned.")
    sync_frequency = serializers.ChoiceField(choices=Integration.Frequency.choices, default="daily")
    is_active = serializers.BooleanField(default=True)


class IntegrationUpdateInputSerializer(serializers.Serializer):
    account_name = serializers.CharField(max_length=255, required=False)
    base_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    config = serializers.DictField(required=False)
    credentials = serializers.DictField(required=False, write_only=True,
                                        help_text="Merged into the stored credentials; null removes a key.")
    sync_frequency = serializers.ChoiceField(choices=Integration.Frequency.choices, required=False)
    is_active = serializers.BooleanField(required=False)


class IntegrationOutputSerializer(serializers.ModelSerializer):
    has_credentials = serializers.SerializerMethodField()

    class Meta:
        model = Integration
        fields = ["id", "integration_type", "account_name", "base_url", "config", "sync_frequency", "is_active",
                  "state", "has_credentials", "cursor", "last_sync_at", "last_sync_status", "last_sync_error",
                  "sync_started_at", "created_at", "updated_at"]

    def get_has_credentials(self, obj) -> bool:
        return bool(obj.credentials_encrypted)


class SyncLogOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = SyncLog
        fields = ["id", "integration", "trigger", "status", "started_at", "finished_at", "duration_ms", "pages",
                  "records_fetched", "records_created", "records_updated", "records_unchanged", "records_rejected",
                  "http_wait_ms", "window", "error_code", "error", "rejections"]


class SyncRequestOutputSerializer(serializers.Serializer):
    status = serializers.CharField()
    integration = IntegrationOutputSerializer()


class WebhookEndpointCreateInputSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=500)
    events = serializers.ListField(child=serializers.ChoiceField(choices=[*WEBHOOK_EVENTS, "*"]), allow_empty=False)
    description = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    secret = serializers.CharField(min_length=16, max_length=200, required=False, write_only=True,
                                   help_text="Optional; generated when absent and shown once in the answer.")


class WebhookEndpointUpdateInputSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=500, required=False)
    events = serializers.ListField(child=serializers.ChoiceField(choices=[*WEBHOOK_EVENTS, "*"]), required=False,
                                   allow_empty=False)
    description = serializers.CharField(max_length=255, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)
    secret = serializers.CharField(min_length=16, max_length=200, required=False, write_only=True)


class WebhookEndpointOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "events", "is_active", "consecutive_failures", "disabled_at",
                  "disabled_reason", "created_at", "updated_at"]


class WebhookEndpointCreatedOutputSerializer(WebhookEndpointOutputSerializer):
    secret = serializers.CharField(help_text="The signing secret, shown only in this answer.")

    class Meta(WebhookEndpointOutputSerializer.Meta):
        fields = [*WebhookEndpointOutputSerializer.Meta.fields, "secret"]


class WebhookDeliveryOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = ["id", "endpoint", "event_id", "event", "payload", "status", "attempts", "response_code",
                  "response_time_ms", "response_body", "error", "next_retry_at", "delivered_at", "redelivery_of",
                  "created_at"]


class RedeliverInputSerializer(serializers.Serializer):
    delivery_id = serializers.IntegerField()


class VtexHookInputSerializer(serializers.Serializer):
    OrderId = serializers.CharField(required=False)
    State = serializers.CharField(required=False)
    LastState = serializers.CharField(required=False)
    hookConfig = serializers.CharField(required=False)


class HookOutputSerializer(serializers.Serializer):
    status = serializers.CharField()
    order_id = serializers.CharField(required=False)
