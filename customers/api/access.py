"""The data-access log over the API: who read personal data, filterable (issue #21 item 3)."""

from __future__ import annotations

from rest_framework import serializers

from cdp.api.viewsets import ReadOnlyViewSet
from customers.filters.access import DataAccessLogFilter
from customers.models import DataAccessLog
from tenants.roles import AUDIT


class DataAccessLogOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = DataAccessLog
        fields = ["id", "created_at", "actor_label", "user_id", "api_key_id", "action", "channel", "resource_type",
                  "resource_id", "rows", "masked", "query", "path", "ip_address"]


class DataAccessLogViewSet(ReadOnlyViewSet):
    """Every read of a customer profile, every list or search returning personal data and every
    export: who, when, what, how many people, masked or not, from which address. Owners and
    admins (the ``audit`` capability), or a key issued with it. Kept for the tenant's
    ``data_retention_days``."""

    required_capabilities = {"list": AUDIT, "retrieve": AUDIT}
    serializer_class = DataAccessLogOutputSerializer
    filterset_class = DataAccessLogFilter
    ordering = "-created_at"
    ordering_fields = ["created_at", "rows", "action"]

    def get_queryset(self):
        return DataAccessLog.objects.order_by("-created_at", "-id")
