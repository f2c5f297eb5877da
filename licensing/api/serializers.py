from rest_framework import serializers

from licensing.codes import ValidationCode
from licensing.models import Asset, License, Machine, Release, UsageLog


class LicenseValidateInputSerializer(serializers.Serializer):
    """Documents the validation request; the view checks it by hand because it is the hot path."""

    key = serializers.CharField(max_length=200)
    fingerprint = serializers.CharField(max_length=255, required=False, allow_null=True,
                                        help_text="The machine's fingerprint; required by most plans.")
    nonce = serializers.CharField(max_length=128, required=False,
                                  help_text="Echoed in meta.nonce (signed), so a replayed answer is detectable.")


class ValidationMetaSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    code = serializers.ChoiceField(choices=[code.value for code in ValidationCode])
    detail = serializers.CharField()
    ts = serializers.DateTimeField()
    nonce = serializers.CharField()


class LicenseValidateOutputSerializer(serializers.Serializer):
    meta = ValidationMetaSerializer()
    data = serializers.DictField(help_text="license (status, plan, expiry, entitlements) and machine; "
                                           "empty for NOT_FOUND and RATE_LIMITED.")


class PublicKeyOutputSerializer(serializers.Serializer):
    public_key = serializers.CharField(help_text="Ed25519 public key, PEM (SubjectPublicKeyInfo).")


class MachineOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Machine
        fields = ["id", "fingerprint", "name", "status", "last_ip", "last_seen_at", "created_at"]


class LicenseOutputSerializer(serializers.ModelSerializer):
    plan = serializers.CharField(source="plan.code")
    machines = MachineOutputSerializer(many=True, read_only=True)

    class Meta:
        model = License
        fields = ["key_prefix", "status", "plan", "expires_at", "max_machines", "machines", "last_validated_at",
                  "created_at"]


class UsageRowSerializer(serializers.Serializer):
    resource = serializers.CharField()
    used = serializers.IntegerField(allow_null=True)
    limit = serializers.IntegerField(allow_null=True)
    percent = serializers.FloatField(allow_null=True)
    level = serializers.ChoiceField(choices=["ok", "warning", "at_limit", "exceeded"])
    monthly = serializers.BooleanField()


class UsageWarningSerializer(serializers.ModelSerializer):
    class Meta:
        model = UsageLog
        fields = ["created_at", "resource", "threshold", "used", "limit", "period_start"]


class LicenseSummaryOutputSerializer(serializers.Serializer):
    license = LicenseOutputSerializer(allow_null=True)
    entitlements = serializers.DictField()
    usage = UsageRowSerializer(many=True, source="rows")
    warnings = UsageWarningSerializer(many=True)
    has_warning = serializers.BooleanField()
    period_reset = serializers.DateTimeField()


class ReleaseOutputSerializer(serializers.ModelSerializer):
    product = serializers.CharField(source="product.code")
    product_name = serializers.CharField(source="product.name")

    class Meta:
        model = Release
        fields = ["id", "product", "product_name", "version", "status", "is_critical", "changelog", "sha256",
                  "size_bytes", "published_at"]


class AssetOutputSerializer(serializers.ModelSerializer):
    product = serializers.CharField(source="product.code")

    class Meta:
        model = Asset
        fields = ["product", "created_at"]
