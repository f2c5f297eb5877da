"""Customers' models (tenant schema), one module per topic, re-exported here."""

from customers.models.access import DataAccessLog
from customers.models.attributes import AttributeDefinition, CustomerAttributeValue
from customers.models.consent import Consent, ConsentChannel, ConsentEvent, ConsentPurpose, ConsentSource
from customers.models.credit import CreditAccount, CreditPayment, CreditUsage
from customers.models.merge import CustomerMerge, DuplicateCandidate
from customers.models.orders import Order, OrderItem, Product
from customers.models.profile import (
    DEFAULT_SOURCE_PRIORITY,
    MANUAL_PRIORITY,
    MANUAL_SOURCE,
    Address,
    Customer,
    CustomerChangeLog,
    CustomerIdentity,
    SourcePriority,
)
from customers.models.sales import DEFAULT_COUNTED_STATUSES, CountedSaleRule, SalesRecomputeJob
from customers.models.views import CustomerListView

__all__ = [
    "Consent",
    "CustomerListView",
    "ConsentChannel",
    "ConsentEvent",
    "ConsentPurpose",
    "ConsentSource",
    "DEFAULT_COUNTED_STATUSES",
    "DEFAULT_SOURCE_PRIORITY",
    "MANUAL_PRIORITY",
    "MANUAL_SOURCE",
    "Address",
    "AttributeDefinition",
    "CountedSaleRule",
    "CreditAccount",
    "CreditPayment",
    "CreditUsage",
    "Customer",
    "CustomerAttributeValue",
    "CustomerChangeLog",
    "CustomerIdentity",
    "CustomerMerge",
    "DataAccessLog",
    "DuplicateCandidate",
    "Order",
    "OrderItem",
    "Product",
    "SalesRecomputeJob",
    "SourcePriority",
]
