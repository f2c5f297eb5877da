"""FilterSets of the customers app, one module per topic (``profile``, ``orders``, ``credit``,
``merge``); the customers' and orders' ones are re-exported here."""

from customers.filters.orders import OrderFilter
from customers.filters.profile import CustomerFilter, CustomerListFilter

__all__ = ["CustomerFilter", "CustomerListFilter", "OrderFilter"]
