"""The customers app in the tenant's admin, one module per topic; every model is registered here,
explicitly. Writes go through the services (logged and audited): forms through
``ServiceFormAdminMixin``, actions through ``service_action``; rows only services write (orders,
ledgers, merges, logs) are read-only. Loyalty's admin is the loyalty app's."""

from __future__ import annotations

from customers.admin.attributes import AttributeDefinitionAdmin, CustomerAttributeValueAdmin
from customers.admin.consent import ConsentAdmin, ConsentEventAdmin
from customers.admin.credit import CreditAccountAdmin, CreditPaymentAdmin, CreditUsageAdmin
from customers.admin.access import DataAccessLogAdmin
from customers.admin.merge import CustomerMergeAdmin, DuplicateCandidateAdmin
from customers.admin.orders import OrderAdmin, ProductAdmin
from customers.admin.profile import CustomerAdmin, CustomerChangeLogAdmin, SourcePriorityAdmin
from customers.admin.sales import CountedSaleRuleAdmin, SalesRecomputeJobAdmin
from customers.models import (
    AttributeDefinition,
    Consent,
    ConsentEvent,
    CountedSaleRule,
    CreditAccount,
    CreditPayment,
    CreditUsage,
    Customer,
    CustomerAttributeValue,
    CustomerChangeLog,
    CustomerMerge,
    DataAccessLog,
    DuplicateCandidate,
    Order,
    Product,
    SalesRecomputeJob,
    SourcePriority,
)
from tenants.admin_site import tenant_admin_site

REGISTERED = (
    # profiles and orders
    (Customer, CustomerAdmin),
    (Order, OrderAdmin),
    (CustomerChangeLog, CustomerChangeLogAdmin),
    (SourcePriority, SourcePriorityAdmin),
    (Product, ProductAdmin),
    # privacy and merges (the "Pseudonymize" and "Merge into…" actions are CustomerAdmin's)
    (CustomerMerge, CustomerMergeAdmin),
    (DuplicateCandidate, DuplicateCandidateAdmin),
    (DataAccessLog, DataAccessLogAdmin),
    # the counted-sale rule
    (CountedSaleRule, CountedSaleRuleAdmin),
    (SalesRecomputeJob, SalesRecomputeJobAdmin),
    # consent (read-only: changes carry proof, see customers/admin/consent.py)
    (Consent, ConsentAdmin),
    (ConsentEvent, ConsentEventAdmin),
    # custom attributes
    (AttributeDefinition, AttributeDefinitionAdmin),
    (CustomerAttributeValue, CustomerAttributeValueAdmin),
    # credit
    (CreditAccount, CreditAccountAdmin),
    (CreditUsage, CreditUsageAdmin),
    (CreditPayment, CreditPaymentAdmin),
)

for model, model_admin in REGISTERED:
    tenant_admin_site.register(model, model_admin)
