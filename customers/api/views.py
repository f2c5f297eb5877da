"""The API of customers and orders: the ingest endpoint, the customers (list, the Customer 360,
manual edits, addresses, change history, orders) and the orders."""

from django.db import connection
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp.api.viewsets import BaseViewSetMixin, ReadOnlyViewSet
from cdp.context import actor_from_request
from cdp.ids import ID_PATTERN
from customers import selectors
from customers.access import Action, log_access, log_list
from customers.api import leads, serializers
from customers.filters import CustomerFilter, OrderFilter
from customers.services import address_create, address_update, customer_update, order_ingest
from customers.search import customer_search, search_ordering
from tenants.api.permissions import request_key_partner


INGEST_DESCRIPTION = (
    "Batch limits: at most 1,000 orders per request (more is a 400 `batch_too_large`, nothing stored); one "
    "result per record, in the request's order (`index`). A batch is one transaction, written set-based: its "
    "cost grows with the batch, not per statement, so send batches of a few hundred to 1,000 orders rather than "
    "single orders. Expected latency: a few hundred milliseconds for 1,000 orders of new customers on a "
    "2-core server (re-sent, unchanged orders answer faster), more while a file import holds the tenant's "
    "ingest lock (batches wait for it). Concurrent requests naming the same new person make one customer: "
    "one of them waits for the other and is then answered from its rows. Within a batch, a person's newest "
    "order (by `order_date`) gives their profile values; across batches, arrival order and the sources' "
    "priorities decide."
)


class OrderIngestView(APIView):
    """Ingest up to 1,000 canonical orders. Each record is created, updated, unchanged or rejected
    with field-level errors; the good records of a batch are stored even when others are not."""

    parser_classes = [JSONParser]  # canonical records are JSON; anything else is 415, not a guess
    # A partner-bound API key may ingest, its partner's orders only (``order_ingest(partner=)``).
    serves_partner_keys = True

    @extend_schema(request=serializers.OrderIngestDocSerializer, responses=serializers.OrderIngestOutputSerializer,
                   operation_id="orders_ingest", description=INGEST_DESCRIPTION)
    def post(self, request):
        # ``order_ingest`` checks the batch (a list, at most MAX_BATCH records) and each record.
        records = request.data.get("orders") if isinstance(request.data, dict) else None
        result = order_ingest(records=records, actor=actor_from_request(request), tenant=connection.tenant,
                              default_source="api", partner=request_key_partner(request))
        return Response(result.as_dict(), status=status.HTTP_200_OK)


class CustomerViewSet(BaseViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Unified customers: list with search and filters, the Customer 360, manual edits (logged),
    addresses, change history and orders."""

    serializer_class = serializers.CustomerOutputSerializer
    filterset_class = CustomerFilter
    ordering = "-id"
    ordering_fields = ["id", "created_at", "last_purchase_at", "total_spent", "total_orders", "last_name", "email"]
    # ?search= (and the FilterSet's ``q``): every word starts a word of the name, e-mail, document
    # or phone, accents and case ignored, on an index (customers/search.py).
    search_function = staticmethod(customer_search)
    search_description = ("Accent- and case-insensitive: every word must start a word of the name, e-mail, "
                          "document or phone (\"lucia\" finds Lucía, \"lucia.rojas\" her e-mail, "
                          "\"30.111.222\" document 30111222).")

    def get_queryset(self):
        return selectors.customer_list()

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        log_list(request, rows=len(response.data.get("results", ())))
        return response

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        # A search orders its matches by expressions (customers.search.search_ordering), after
        # ?ordering= has chosen the order.
        if any(self.request.query_params.get(name, "").strip() for name in ("search", "q", "name")):
            queryset = search_ordering(queryset)
        return queryset

    @extend_schema(request=serializers.LeadRecordDocSerializer, responses={201: serializers.LeadOutputSerializer,
                   200: serializers.LeadOutputSerializer}, description=leads.LEAD_DESCRIPTION)
    def create(self, request):
        return leads.lead_create(request)

    @extend_schema(request={"application/json": serializers.LeadBulkDocSerializer,
                            "text/csv": {"type": "string"}, "application/x-ndjson": {"type": "string"}},
                   responses=serializers.LeadBulkOutputSerializer, description=leads.BULK_DESCRIPTION)
    @action(detail=False, methods=["post"], parser_classes=leads.BULK_PARSERS, filterset_class=None,
            pagination_class=None)
    def bulk(self, request):
        return leads.lead_bulk(request)

    @extend_schema(responses=serializers.Customer360OutputSerializer)
    def retrieve(self, request, pk=None):
        view = selectors.customer_360(customer_id=pk)
        log_access(request, action=Action.PROFILE_READ, resource_id=view["customer"].pk, rows=1)
        return Response(serializers.Customer360OutputSerializer(view, context={"request": request}).data)

    @extend_schema(request=serializers.CustomerUpdateInputSerializer,
                   responses=serializers.CustomerDetailOutputSerializer)
    def partial_update(self, request, pk=None):
        selectors.customer_get(customer_id=pk)
        data = serializers.CustomerUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        reason = values.pop("reason", "") or "manual edit (API)"
        customer = customer_update(customer_id=pk, data=values, actor=actor_from_request(request), reason=reason)
        return Response(serializers.CustomerDetailOutputSerializer(customer, context={"request": request}).data)

    @extend_schema(methods=["get"], responses=serializers.AddressOutputSerializer(many=True))
    @extend_schema(methods=["post"], request=serializers.AddressCreateInputSerializer,
                   responses={201: serializers.AddressOutputSerializer})
    @action(detail=True, methods=["get", "post"], filterset_class=None, pagination_class=None)
    def addresses(self, request, pk=None):
        if request.method == "POST":
            data = serializers.AddressCreateInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            selectors.customer_get(customer_id=pk)
            address = address_create(customer_id=pk, data=data.validated_data, actor=actor_from_request(request))
            return Response(serializers.AddressOutputSerializer(address, context={"request": request}).data, status=status.HTTP_201_CREATED)
        addresses = selectors.customer_addresses(customer_id=pk)
        log_access(request, action=Action.PROFILE_READ, resource_id=pk, rows=1, query={"section": "addresses"})
        return Response(serializers.AddressOutputSerializer(addresses, many=True, context={"request": request}).data)

    @extend_schema(request=serializers.AddressInputSerializer, responses=serializers.AddressOutputSerializer)
    @action(detail=True, methods=["patch"], url_path=rf"addresses/(?P<address_id>{ID_PATTERN})", filterset_class=None)
    def address(self, request, pk=None, address_id=None):
        selectors.customer_get(customer_id=pk)
        data = serializers.AddressInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        address = address_update(customer_id=pk, address_id=address_id, data=data.validated_data,
                                 actor=actor_from_request(request))
        return Response(serializers.AddressOutputSerializer(address, context={"request": request}).data)

    @extend_schema(responses=serializers.ChangeLogOutputSerializer(many=True))
    @action(detail=True, methods=["get"], filterset_class=None)
    def changes(self, request, pk=None):
        page = self.paginate_queryset(selectors.customer_changes(customer_id=pk))
        log_access(request, action=Action.CHANGES_READ, resource_id=pk, rows=1)
        return self.get_paginated_response(serializers.ChangeLogOutputSerializer(page, many=True, context={"request": request}).data)

    @extend_schema(responses=serializers.OrderOutputSerializer(many=True))
    @action(detail=True, methods=["get"], filterset_class=None)
    def orders(self, request, pk=None):
        page = self.paginate_queryset(selectors.customer_orders(customer_id=pk))
        return self.get_paginated_response(serializers.OrderOutputSerializer(page, many=True).data)


class OrderViewSet(ReadOnlyViewSet):
    """Orders from every source; the detail includes the items and the raw payload."""

    serializer_class = serializers.OrderOutputSerializer
    filterset_class = OrderFilter
    ordering = "-order_date"
    ordering_fields = ["order_date", "total_amount", "created_at", "id"]
    search_fields = ["external_order_id", "=order_number"]

    def get_queryset(self):
        return selectors.order_list()

    @extend_schema(responses=serializers.OrderDetailOutputSerializer)
    def retrieve(self, request, pk=None):
        return Response(serializers.OrderDetailOutputSerializer(selectors.order_detail(order_id=pk), context={"request": request}).data)
