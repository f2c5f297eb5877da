from __future__ import annotations

from rest_framework import serializers

from ai.models import ProcessedTask
from cdp.ids import MAX_ID
from ai.services.features import CHANNELS, GOALS, LANGUAGES


class ProcessedTaskOutputSerializer(serializers.ModelSerializer):
    provider = serializers.CharField(source="provider_name")
    model = serializers.CharField(source="model_name")
    cost_usd = serializers.DecimalField(max_digits=12, decimal_places=6, coerce_to_string=True)
    output = serializers.SerializerMethodField()
    attempts = serializers.SerializerMethodField()

    class Meta:
        model = ProcessedTask
        fields = ("id", "feature", "language", "prompt_version", "status", "provider", "model", "tokens_in",
                  "tokens_out", "cost_usd", "latency_ms", "attempts", "output", "error_code", "error_message",
                  "created_at", "finished_at")

    def get_output(self, task) -> dict | str | None:
        if task.status != ProcessedTask.Status.SUCCEEDED:
            return None
        return task.output_json if task.output_json is not None else task.output_text

    def get_attempts(self, task) -> list[dict]:
        # Which providers were tried and why they failed; key ids stay the operators'.
        return [{name: attempt.get(name) for name in ("provider", "model", "status", "error_code", "latency_ms")}
                for attempt in task.attempts or []]


class MessageDraftInputSerializer(serializers.Serializer):
    segment = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    channel = serializers.ChoiceField(choices=CHANNELS)
    language = serializers.ChoiceField(choices=LANGUAGES, required=False)
    goal = serializers.ChoiceField(choices=GOALS, default="win-back")
    offer = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class SegmentDraftInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=500, help_text="The customers wanted, in words.")
    language = serializers.ChoiceField(choices=LANGUAGES, required=False,
                                       help_text="Of the text; the tenant's language when absent.")


class SegmentDraftOutputSerializer(serializers.Serializer):
    task = ProcessedTaskOutputSerializer(help_text="Poll it until its status is succeeded or failed.")
    rules = serializers.JSONField(allow_null=True, help_text="Validated segment rules, once the task succeeded.")
    sentence = serializers.CharField(help_text="The rules read as a sentence (empty until then).")
    preview_count = serializers.IntegerField(allow_null=True, help_text="Customers matching the rules now.")


class SegmentDraftConfirmInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=150)
    description = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class SegmentSavedOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    rules = serializers.JSONField()
    member_count = serializers.IntegerField()


class CustomerSummaryInputSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
