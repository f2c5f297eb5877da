"""Custom attributes over the API: the definitions (``/api/v1/attributes/``: reads need ``read``,
defining and changing need ``write``) and one customer's values
(``GET/PATCH /api/v1/customers/{id}/attributes/``)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cdp.api.viewsets import BaseViewSetMixin
from cdp.context import actor_from_request
from cdp.ids import get_or_not_found
from customers.access import Action, log_access
from customers.models import AttributeDefinition, Customer
from customers.selectors.attributes import attribute_definition_list, attribute_value_text, customer_attribute_values
from customers.services.attributes import (
    attribute_definition_create,
    attribute_definition_update,
    customer_attributes_set,
)

CUSTOMER_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The customer.")


class AttributeDefinitionOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = AttributeDefinition
        fields = ["id", "key", "label", "type", "choices", "description", "is_active", "created_at", "updated_at"]


class AttributeDefinitionInputSerializer(serializers.Serializer):
    """Documentation only: the service checks every field (so the errors are the same everywhere)."""

    key = serializers.CharField(help_text="Lowercase letters, digits, underscores; fixed once created.")
    label = serializers.CharField(max_length=100)
    type = serializers.ChoiceField(choices=AttributeDefinition.Type.choices,
                                   help_text="Fixed once customers have values.")
    choices = serializers.ListField(child=serializers.CharField(max_length=100), required=False,
                                    help_text="A choice attribute's allowed values.")
    description = serializers.CharField(required=False, max_length=255)
    is_active = serializers.BooleanField(required=False)


def _body(request) -> dict:
    data = request.data
    return {key: data[key] for key in data} if hasattr(data, "keys") else {"": data}


class AttributeDefinitionViewSet(BaseViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                                 viewsets.GenericViewSet):
    """The tenant's custom attributes: typed fields set by the API, imports (``attribute_<key>``
    columns) and the admin, usable in segment rules (``{"field": "attribute", "key": ...}``) and
    exported with segments."""

    serializer_class = AttributeDefinitionOutputSerializer
    ordering = "key"
    ordering_fields = ["key", "id", "created_at"]

    def get_queryset(self):
        return attribute_definition_list()

    @extend_schema(request=AttributeDefinitionInputSerializer, responses={201: AttributeDefinitionOutputSerializer})
    def create(self, request):
        definition = attribute_definition_create(data=_body(request), actor=actor_from_request(request))
        return Response(AttributeDefinitionOutputSerializer(definition).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AttributeDefinitionInputSerializer(partial=True),
                   responses=AttributeDefinitionOutputSerializer)
    def partial_update(self, request, pk=None):
        definition = attribute_definition_update(definition_id=pk, data=_body(request),
                                                 actor=actor_from_request(request))
        return Response(AttributeDefinitionOutputSerializer(definition).data)


def _values_body(values: dict) -> dict:
    """Values as JSON: dates ISO, numbers as plain decimal text, booleans and texts as they are."""
    return {key: value if isinstance(value, (bool, str)) else attribute_value_text(value)
            for key, value in values.items()}


class CustomerAttributeViewSet(BaseViewSetMixin, viewsets.GenericViewSet):
    """One customer's custom attribute values."""

    ordering = "id"
    serializer_class = serializers.Serializer

    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="customers_attributes_read", parameters=[CUSTOMER_ID])
    @action(detail=True, methods=["get"], url_path="attributes", filter_backends=[])
    def attributes(self, request, pk=None):
        """``{key: value}`` of every attribute the customer has."""
        customer = get_or_not_found(Customer, pk, "Customer not found.")
        log_access(request, action=Action.PROFILE_READ, resource_id=customer.pk, rows=1,
                   query={"section": "attributes"})
        return Response(_values_body(customer_attribute_values(customer_id=customer.pk)))

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT, operation_id="customers_attributes_set",
                   parameters=[CUSTOMER_ID])
    @attributes.mapping.patch
    def attributes_set(self, request, pk=None):
        """Set values ``{key: value}`` (null or "" clears one); each is checked against its type
        (400 with ``attributes.<key>`` field errors, nothing written) and change-logged."""
        body = request.data if isinstance(request.data, dict) else None
        values = customer_attributes_set(customer_id=pk, values=body, actor=actor_from_request(request))
        return Response(_values_body(values))

