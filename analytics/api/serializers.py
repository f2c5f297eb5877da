from rest_framework import serializers

from customers.masking import MaskingSerializerMixin

from analytics.models import (
    AdPerformanceDaily,
    CustomerChurn,
    CustomerClv,
    CustomerRfm,
    DailyKpi,
    DataQualityCheck,
    ProcessingJob,
    RfmSegmentDefinition,
    Segment,
)
from analytics.models import STEPS


class RunStartInputSerializer(serializers.Serializer):
    as_of = serializers.DateField(required=False)
    only = serializers.ListField(child=serializers.ChoiceField(choices=STEPS), required=False, allow_empty=False)


class ProcessingJobOutputSerializer(serializers.ModelSerializer):
    duration_seconds = serializers.FloatField(read_only=True)

    class Meta:
        model = ProcessingJob
        fields = ["id", "job_type", "as_of", "steps", "status", "requested_by", "created_at", "started_at",
                  "finished_at", "duration_seconds", "step_timings", "row_counts", "summary", "error"]


class CustomerRfmOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomerRfm
        fields = ["customer_id", "as_of", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score",
                  "rfm_score", "segment"]


class RfmSegmentSummaryOutputSerializer(serializers.Serializer):
    segment = serializers.CharField()
    name = serializers.CharField()
    customers = serializers.IntegerField()
    revenue = serializers.DecimalField(max_digits=18, decimal_places=2)
    share = serializers.FloatField()


class RfmSegmentDefinitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = RfmSegmentDefinition
        fields = ["id", "code", "name", "description", "priority", "r_min", "r_max", "f_min", "f_max", "m_min",
                  "m_max", "suggested_action", "color", "is_active"]
        read_only_fields = ["id", "code"]


class CustomerClvOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomerClv
        fields = ["customer_id", "as_of", "frequency", "recency", "T", "monetary_value", "probability_alive",
                  "expected_purchases", "predicted_value", "historical_value", "total_clv", "tier", "percentile"]


class CustomerChurnOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomerChurn
        fields = ["customer_id", "as_of", "probability", "band", "method", "days_since_last_purchase",
                  "predicted_churn_date", "factors"]


class DailyKpiOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = DailyKpi
        fields = ["date", "revenue", "orders", "average_order_value", "new_customers", "returning_customers",
                  "active_30", "active_90", "active_365", "total_customers", "repeat_purchase_rate", "churn_rate",
                  "ad_spend", "blended_cac", "blended_roas"]


class AdPerformanceOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = AdPerformanceDaily
        fields = ["date", "channel", "campaign_id", "campaign_name", "spend", "clicks", "impressions", "orders",
                  "revenue", "new_customers", "cac", "roas"]


class AdFiguresSerializer(serializers.Serializer):
    spend = serializers.DecimalField(max_digits=18, decimal_places=2)
    new_customers = serializers.IntegerField(allow_null=True)
    revenue = serializers.DecimalField(max_digits=18, decimal_places=2, allow_null=True)
    cac = serializers.DecimalField(max_digits=15, decimal_places=2, allow_null=True,
                                   help_text="Spend ÷ new customers.")
    roas = serializers.FloatField(allow_null=True, help_text="Counted revenue ÷ spend.")


class AdCampaignFiguresSerializer(AdFiguresSerializer):
    channel = serializers.CharField()
    campaign_id = serializers.CharField(help_text="Empty: orders of the channel whose campaign matched no spend.")
    campaign_name = serializers.CharField()
    orders = serializers.IntegerField()


class AdChannelFiguresSerializer(AdFiguresSerializer):
    channel = serializers.CharField()
    orders = serializers.IntegerField()


class AdPerformanceSummarySerializer(serializers.Serializer):
    start = serializers.DateField(allow_null=True)
    end = serializers.DateField(allow_null=True)
    campaigns = AdCampaignFiguresSerializer(many=True, help_text="Attributed by UTM source and campaign.")
    channels = AdChannelFiguresSerializer(many=True)
    blended = AdFiguresSerializer(allow_null=True, help_text="All spend against all new customers and revenue.")


class AdPerformanceSummaryInputSerializer(serializers.Serializer):
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)

    def validate(self, data):
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise serializers.ValidationError({"start": ["Must not be after end."]})
        return data


class DataQualityCheckOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = DataQualityCheck
        fields = ["code", "label", "target", "severity", "checked", "failed", "pass_rate", "sample_ids", "as_of"]


class SegmentInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=150)
    description = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    rules = serializers.JSONField()
    is_active = serializers.BooleanField(required=False, default=True)


class SegmentUpdateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=150, required=False)
    description = serializers.CharField(max_length=255, required=False, allow_blank=True)
    rules = serializers.JSONField(required=False)
    is_active = serializers.BooleanField(required=False)


class SegmentOutputSerializer(serializers.ModelSerializer):
    counts = serializers.SerializerMethodField()

    class Meta:
        model = Segment
        fields = ["id", "name", "description", "rules", "is_active", "member_count", "materialized_at", "created_by",
                  "created_at", "updated_at", "counts"]

    def get_counts(self, obj) -> list[dict]:
        return [{"date": c.date.isoformat(), "members": c.members} for c in obj.counts.order_by("-date")[:90]]


class SegmentMemberOutputSerializer(MaskingSerializerMixin, serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.CharField(allow_null=True)
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    country = serializers.CharField()
    total_spent = serializers.DecimalField(max_digits=15, decimal_places=2)
    last_purchase_at = serializers.DateTimeField(allow_null=True)
