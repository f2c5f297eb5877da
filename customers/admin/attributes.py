"""Custom attributes in the tenant's admin: definitions and customers' values, both written by
the services (checked, change-logged, audited); a refusal is an error on the form."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from cdp.admin_mixins import ServiceFormAdminMixin
from cdp.context import actor_from_request
from customers.models import CustomerAttributeValue
from customers.selectors.attributes import attribute_value_of, attribute_value_text
from customers.services.attributes import (
    attribute_definition_create,
    attribute_definition_update,
    customer_attributes_set,
)
from tenants.admin_site import TenantModelAdmin


class AttributeDefinitionAdmin(ServiceFormAdminMixin, TenantModelAdmin):
    list_display = ("key", "label", "type", "is_active", "updated_at")
    list_filter = ("type", "is_active")
    search_fields = ("key", "label")
    fields = ("key", "label", "type", "choices", "description", "is_active")

    def get_readonly_fields(self, request, obj=None):
        return ("key",) if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False  # deleting would drop every customer's value without a change-log row: deactivate it

    def service_save(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in self.fields if name in form.cleaned_data}
        if change:
            data.pop("key", None)
            return attribute_definition_update(definition_id=obj.pk, data=data, actor=actor_from_request(request))
        return attribute_definition_create(data=data, actor=actor_from_request(request))


class CustomerAttributeValueForm(forms.ModelForm):
    value = forms.CharField(label=_("Value"), required=False, max_length=500,
                            help_text=_("Dates as YYYY-MM-DD, yes/no as true or false. Empty clears the value."))

    class Meta:
        model = CustomerAttributeValue
        fields = ("customer", "definition")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["value"].initial = attribute_value_text(attribute_value_of(self.instance))


class CustomerAttributeValueAdmin(ServiceFormAdminMixin, TenantModelAdmin):
    form = CustomerAttributeValueForm
    list_display = ("customer_id", "definition", "shown_value", "source", "updated_at")
    list_filter = ("definition",)
    raw_id_fields = ("customer",)
    list_select_related = ("definition",)

    def get_readonly_fields(self, request, obj=None):
        return ("customer", "definition", "source") if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False  # an empty value clears it, logged

    @admin.display(description=_("value"))
    def shown_value(self, obj):
        return attribute_value_text(attribute_value_of(obj))

    def service_save(self, request, obj, form, change):
        customer_id = obj.customer_id if change else form.cleaned_data["customer"].pk
        definition = obj.definition if change else form.cleaned_data["definition"]
        customer_attributes_set(customer_id=customer_id, values={definition.key: form.cleaned_data.get("value")},
                                actor=actor_from_request(request), reason="manual edit (admin)")
        saved = CustomerAttributeValue.objects.filter(customer_id=customer_id, definition=definition).first()
        return saved or CustomerAttributeValue(customer_id=customer_id, definition=definition)
