"""The counted-sale rule over the API: which order statuses count as a sale (every figure of the
platform uses it), changing it (owners and admins), and the recomputations a change records."""

from __future__ import annotations

from django.db import connection
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp.api.viewsets import BaseViewSetMixin
from cdp.context import actor_from_request
from customers.models import Order, SalesRecomputeJob
from customers.selectors.sales import counted_sale_rule, sales_recompute_jobs
from customers.services.sales import counted_statuses_set
from tenants.roles import SALES

#: Changing what a sale is rewrites every customer's totals and loyalty: ``sales`` (owners, admins).
STAFF_CAPABILITY = SALES


class SalesRecomputeJobOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = SalesRecomputeJob
        fields = ["id", "status", "statuses_before", "statuses_after", "steps", "current_step", "progress",
                  "requested_by", "created_at", "started_at", "finished_at", "error"]


class CountedSaleRuleOutputSerializer(serializers.Serializer):
    statuses = serializers.ListField(child=serializers.ChoiceField(choices=Order.Status.choices),
                                     help_text="Order statuses that count as a sale.")
    is_default = serializers.BooleanField()
    changed_by = serializers.CharField()
    updated_at = serializers.DateTimeField(allow_null=True)
    recompute = SalesRecomputeJobOutputSerializer(allow_null=True, help_text="The latest recomputation, if any.")


class CountedSaleRuleInputSerializer(serializers.Serializer):
    statuses = serializers.ListField(
        child=serializers.ChoiceField(choices=[(value, label) for value, label in Order.Status.choices
                                               if value not in Order.VOID_STATUSES]),
        min_length=1, max_length=len(Order.Status.values),
        help_text="Order statuses that count as a sale (default paid, invoiced, completed).")


def _rule_answer(job: SalesRecomputeJob | None = None) -> dict:
    return {**counted_sale_rule(), "recompute": job or sales_recompute_jobs().first()}


class CountedSaleRuleView(APIView):
    """The tenant's counted-sale rule. PUT changes it and answers 202 with the recomputation it
    queued (customer aggregates, loyalty, analytics), or 200 when the statuses did not change;
    409 ``recompute_in_progress`` while the previous one runs."""

    required_capabilities = {"put": STAFF_CAPABILITY}

    @extend_schema(responses=CountedSaleRuleOutputSerializer, operation_id="counted_sale_rule_retrieve")
    def get(self, request):
        return Response(CountedSaleRuleOutputSerializer(_rule_answer()).data)

    @extend_schema(request=CountedSaleRuleInputSerializer,
                   responses={200: CountedSaleRuleOutputSerializer, 202: CountedSaleRuleOutputSerializer},
                   operation_id="counted_sale_rule_update")
    def put(self, request):
        data = CountedSaleRuleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = counted_statuses_set(statuses=data.validated_data["statuses"], actor=actor_from_request(request),
                                   tenant=connection.tenant)
        return Response(CountedSaleRuleOutputSerializer(_rule_answer(job)).data,
                        status=status.HTTP_202_ACCEPTED if job else status.HTTP_200_OK)


class SalesRecomputeJobViewSet(BaseViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                               viewsets.GenericViewSet):
    """Recomputations after changes of the counted-sale rule, with their progress per step."""

    serializer_class = SalesRecomputeJobOutputSerializer
    ordering = ["-created_at", "-id"]
    ordering_fields = ["created_at", "status"]
    filterset_fields = ["status"]

    def get_queryset(self):
        return sales_recompute_jobs()
