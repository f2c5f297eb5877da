"""Input serializers validate, output serializers render; services write."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from customers.models import ConsentChannel, ConsentPurpose
from engagement.selectors import campaign_counts
from engagement.models import AudienceDestination, Campaign, Language, MessageTemplate, Notification, TriggerRule


class MessageTemplateOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = MessageTemplate
        fields = ["id", "name", "channel", "purpose", "language", "version", "subject", "body", "whatsapp_template",
                  "is_active", "created_by", "created_at"]
        read_only_fields = fields


class MessageTemplateCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    channel = serializers.ChoiceField(choices=ConsentChannel.choices)
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices, default=ConsentPurpose.MARKETING)
    language = serializers.ChoiceField(choices=Language.choices, default=Language.ES)
    subject = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    body = serializers.CharField(max_length=20000)
    whatsapp_template = serializers.CharField(max_length=512, required=False, allow_blank=True, default="")


class TemplatePreviewInputSerializer(serializers.Serializer):
    customer = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    context = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=500), required=False,
                                    default=dict, help_text="Trigger variables (points, voucher_code...).")


class TemplatePreviewOutputSerializer(serializers.Serializer):
    subject = serializers.CharField()
    body = serializers.CharField()


class NotificationOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "customer", "channel", "purpose", "template", "campaign", "trigger", "key", "status",
                  "recipient", "subject", "provider_message_id", "error", "attempts", "next_attempt_at",
                  "created_at", "sent_at", "delivered_at", "read_at", "failed_at"]
        read_only_fields = fields


class CampaignTemplateInputSerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    body = serializers.CharField(max_length=20000)
    language = serializers.ChoiceField(choices=Language.choices, default=Language.ES)
    whatsapp_template = serializers.CharField(max_length=512, required=False, allow_blank=True, default="")


class CampaignCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=150)
    segment = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="The analytics segment's id.")
    channel = serializers.ChoiceField(choices=ConsentChannel.choices, required=False,
                                      help_text="With an inline ``template``.")
    template = CampaignTemplateInputSerializer(required=False, help_text="An inline template (a new one is saved).")
    template_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False,
                                           help_text="Or an existing template version.")

    def validate(self, data):
        if bool(data.get("template")) == bool(data.get("template_id")):
            raise serializers.ValidationError({"template": ["Give either an inline template or a template_id."]})
        if data.get("template") and not data.get("channel"):
            raise serializers.ValidationError({"channel": ["An inline template needs its channel."]})
        return data


class CampaignCountsSerializer(serializers.Serializer):
    queued = serializers.IntegerField()
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    read = serializers.IntegerField()
    failed = serializers.IntegerField()
    suppressed = serializers.IntegerField()


class CampaignOutputSerializer(serializers.ModelSerializer):
    segment = serializers.IntegerField(source="segment_id")
    counts = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = ["id", "name", "segment", "template", "status", "audience_size", "started_at", "created_by",
                  "created_at", "counts"]
        read_only_fields = fields

    @extend_schema_field(CampaignCountsSerializer)
    def get_counts(self, campaign) -> dict:
        return campaign_counts(campaign_id=campaign.pk)


class CampaignPreviewOutputSerializer(serializers.Serializer):
    audience = serializers.IntegerField()
    consented = serializers.IntegerField()
    suppressed = serializers.IntegerField()


class HookOutputSerializer(serializers.Serializer):
    applied = serializers.IntegerField()


class TriggerRuleOutputSerializer(serializers.ModelSerializer):
    segment = serializers.IntegerField(source="segment_id", allow_null=True)

    class Meta:
        model = TriggerRule
        fields = ["id", "event", "template", "segment", "is_active", "created_by", "created_at"]
        read_only_fields = fields


class TriggerRuleCreateInputSerializer(serializers.Serializer):
    event = serializers.ChoiceField(choices=TriggerRule.Event.choices)
    template = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    segment = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False, allow_null=True,
                                       default=None, help_text="segment.entered: the segment.")


class AudienceDestinationOutputSerializer(serializers.ModelSerializer):
    segment = serializers.IntegerField(source="segment_id")

    class Meta:
        model = AudienceDestination
        fields = ["id", "platform", "audience_id", "segment", "is_active", "sent_count", "invalid_count",
                  "removed_count", "last_synced_at", "last_error", "last_job", "created_by", "created_at"]
        read_only_fields = fields


class AudienceDestinationCreateInputSerializer(serializers.Serializer):
    platform = serializers.ChoiceField(choices=AudienceDestination.Platform.choices,
                                       default=AudienceDestination.Platform.META)
    audience_id = serializers.RegexField(r"^[0-9]{1,20}$", help_text="The Meta Custom Audience id, or the Google "
                                                                     "Ads Customer Match user list id.")
    segment = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


class CampaignResultsQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=90, required=False,
                                    help_text="Attribution window in days (default: the tenant's setting).")


class CampaignRevenueSerializer(serializers.Serializer):
    currency = serializers.CharField()
    orders = serializers.IntegerField()
    amount = serializers.CharField(help_text="Decimal, as text.")


class CampaignResultsOutputSerializer(serializers.Serializer):
    counts = CampaignCountsSerializer()
    sent = serializers.IntegerField(help_text="Messages handed to the provider (whatever became of them after).")
    clicked = serializers.IntegerField(help_text="Messages with at least one tracked click.")
    unsubscribed = serializers.IntegerField(help_text="Recipients who unsubscribed from the channel after it.")
    attribution_days = serializers.IntegerField()
    revenue = CampaignRevenueSerializer(many=True)
