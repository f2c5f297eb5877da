"""Duplicate suggestions, merges and their undo over the API.

``POST /customers/{id}/merge/ {"merged_id": N}``: the customer in the path survives. Merge and
undo need ``write`` (held by the owner and admin roles only); reads need ``read``."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cdp.api.viewsets import BaseViewSetMixin
from cdp.context import actor_from_request
from cdp.ids import MAX_ID, get_or_not_found
from customers.filters.merge import CustomerMergeFilter, DuplicateCandidateFilter
from customers.models import Customer, CustomerMerge, DuplicateCandidate
from customers.selectors import customer_get
from customers.masking import MaskingSerializerMixin
from customers.services.duplicates import duplicate_dismiss
from customers.services.merge import customer_merge, merge_undo
from tenants.roles import READ, WRITE


class CustomerBriefOutputSerializer(MaskingSerializerMixin, serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "email", "first_name", "last_name", "phone", "status", "total_orders", "total_spent"]


CUSTOMER_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The customer.")


class CustomerMergeInputSerializer(serializers.Serializer):
    merged_id = serializers.IntegerField(min_value=1, max_value=MAX_ID,
                                         help_text="The customer folded into the one in the path.")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200)


class CustomerMergeOutputSerializer(serializers.ModelSerializer):
    summary = serializers.SerializerMethodField()
    undoable = serializers.SerializerMethodField()

    class Meta:
        model = CustomerMerge
        fields = ["id", "survivor", "merged", "reason", "merged_by", "created_at", "undone_at", "undone_by",
                  "undoable", "summary"]

    def get_summary(self, obj) -> dict:
        """What moved (counts and modes only; the snapshot itself is internal)."""
        snapshot = obj.snapshot or {}
        personal = snapshot.get("personal") or {}
        return {"orders": len(snapshot.get("orders", [])), "identities": len(snapshot.get("identities", [])),
                "addresses": len(snapshot.get("addresses", [])), "change_logs": len(snapshot.get("change_logs", [])),
                "fields_filled": sorted(personal.get("filled", {})),
                "loyalty": (snapshot.get("loyalty") or {}).get("mode"),
                "credit": (snapshot.get("credit") or {}).get("mode")}

    def get_undoable(self, obj) -> bool:
        snapshot = obj.snapshot or {}
        return obj.undone_at is None and not snapshot.get("pseudonymized") and snapshot.get("personal") is not None


class DuplicateCandidateOutputSerializer(serializers.ModelSerializer):
    customer_a = CustomerBriefOutputSerializer()
    customer_b = CustomerBriefOutputSerializer()

    class Meta:
        model = DuplicateCandidate
        fields = ["id", "customer_a", "customer_b", "score", "reasons", "status", "reviewed_by", "reviewed_at",
                  "created_at", "updated_at"]


class CustomerMergeActionViewSet(viewsets.ViewSet):
    required_capabilities = {"merge": WRITE}

    @extend_schema(request=CustomerMergeInputSerializer, responses={201: CustomerMergeOutputSerializer},
                   operation_id="customers_merge", parameters=[CUSTOMER_ID])
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        """Fold ``merged_id`` into this customer (the survivor): orders, identities, addresses,
        loyalty, credit and change log move; empty fields are filled; the merge can be undone."""
        survivor_id = customer_get(customer_id=pk).pk
        data = CustomerMergeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        merge = customer_merge(survivor_id=survivor_id, merged_id=data.validated_data["merged_id"],
                               actor=actor_from_request(request), reason=data.validated_data.get("reason", ""))
        return Response(CustomerMergeOutputSerializer(merge, context={"request": request}).data, status=status.HTTP_201_CREATED)


class CustomerMergeViewSet(BaseViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                           viewsets.GenericViewSet):
    """Merges, newest first; ``undo`` puts everything back."""

    serializer_class = CustomerMergeOutputSerializer
    filterset_class = CustomerMergeFilter
    ordering = ["-created_at", "-id"]
    ordering_fields = ["created_at", "id"]
    required_capabilities = {"list": READ, "retrieve": READ, "undo": WRITE}

    def get_queryset(self):
        return CustomerMerge.objects.order_by("-created_at", "-id")

    def get_object(self):
        return get_or_not_found(self.get_queryset(), self.kwargs["pk"], "Merge not found.")

    @extend_schema(request=None, responses=CustomerMergeOutputSerializer, operation_id="merges_undo")
    @action(detail=True, methods=["post"], filterset_class=None)
    def undo(self, request, pk=None):
        """Restore what the merge moved and changed; a second undo is 409 ``merge_already_undone``."""
        merge = merge_undo(merge_id=pk, actor=actor_from_request(request))
        return Response(CustomerMergeOutputSerializer(merge, context={"request": request}).data)


class DuplicateCandidateViewSet(BaseViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                                viewsets.GenericViewSet):
    """Suggested duplicate pairs, best score first (recomputed nightly)."""

    serializer_class = DuplicateCandidateOutputSerializer
    filterset_class = DuplicateCandidateFilter
    ordering = ["-score", "id"]
    ordering_fields = ["score", "created_at", "id"]
    required_capabilities = {"list": READ, "retrieve": READ, "dismiss": WRITE}

    def get_queryset(self):
        return DuplicateCandidate.objects.select_related("customer_a", "customer_b").order_by("-score", "id")

    def get_object(self):
        return get_or_not_found(self.get_queryset(), self.kwargs["pk"], "Duplicate suggestion not found.")

    @extend_schema(request=None, responses=DuplicateCandidateOutputSerializer, operation_id="duplicates_dismiss")
    @action(detail=True, methods=["post"], filterset_class=None)
    def dismiss(self, request, pk=None):
        """Not a duplicate: the pair stays dismissed across recomputes."""
        duplicate_dismiss(candidate_id=pk, actor=actor_from_request(request))
        return Response(DuplicateCandidateOutputSerializer(self.get_object(), context={"request": request}).data)
