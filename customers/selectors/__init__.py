"""Reads of the customers app, one module per topic (``profile``, ``orders``, ``sales``,
``credit``); the profile, order and counted-sale reads are re-exported here."""

from customers.selectors.orders import customer_orders, order_detail, order_list, orders_of_erased_customers
from customers.selectors.profile import (
    customer_360,
    customer_addresses,
    customer_changes,
    customer_count,
    customer_get,
    customer_list,
    customer_views_of,
)
from customers.selectors.sales import counted_sale_rule, counted_statuses, sales_recompute_jobs

__all__ = [
    "counted_sale_rule",
    "counted_statuses",
    "customer_360",
    "customer_addresses",
    "customer_changes",
    "customer_count",
    "customer_get",
    "customer_list",
    "customer_views_of",
    "customer_orders",
    "order_detail",
    "order_list",
    "orders_of_erased_customers",
    "sales_recompute_jobs",
]
