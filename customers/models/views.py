"""Saved views of the customer list: a person's named filters and sort, one click away."""

from __future__ import annotations

from django.db import models


class CustomerListView(models.Model):
    """A person's own named query of the customer list (filters and sort as a query string).

    Per person, not shared: a view is a shortcut to how one person works; what a team shares is a
    segment (named rules, materialized, counted over time, exportable with approval), so shared
    views would be a second, weaker way to do the same thing."""

    # The member's id in the public schema: a plain integer, no foreign key across schemas.
    user_id = models.BigIntegerField()
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name, verbose_name_plural = "customer list view", "customer list views"
        constraints = [models.UniqueConstraint(fields=["user_id", "name"], name="customer_list_view_unique_name")]
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name
