"""Privacy in the tenant's admin: the "Pseudonymize" action of the customers' list."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from cdp.admin_mixins import service_action
from customers.services.privacy import customer_pseudonymize


@service_action(description=_("Pseudonymize selected customers (irreversible)"), done=_("customer(s) pseudonymized"))
def pseudonymize_customers(customer, *, actor, request):
    customer_pseudonymize(customer_id=customer.pk, actor=actor, reason="admin action")
