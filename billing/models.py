"""Catalog, orders, invoices and revenue (public schema). Models arrive with the billing issue."""
