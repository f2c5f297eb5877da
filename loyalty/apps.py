from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    """Loyalty (tenant schema): the program, tiers and points ledger, built on customers without
    customers knowing it: it listens to customers' events and registers its hooks there."""

    name = "loyalty"

    def ready(self) -> None:
        # Imported here: these modules use the models, which exist once the apps are loaded.
        from django_tenants.signals import post_schema_sync

        from django.utils.translation import gettext_lazy

        from cdp.registry import register_api_key_partner, register_portal_nav
        from customers import registry
        from loyalty import selectors, services
        from loyalty.hooks import loyalty_hooks_connect
        from loyalty.receivers import on_tenant_schema_created

        loyalty_hooks_connect()  # ingested orders earn loyalty points
        # Partner-bound API keys: the API's permission check fences them, customers' ingest limits
        # them to their partner's orders.
        register_api_key_partner(selectors.partner_slug_bound_to_key)
        register_portal_nav(gettext_lazy("Loyalty"), "loyalty:program", order=35, capability="analytics")
        post_schema_sync.connect(on_tenant_schema_created, dispatch_uid="loyalty.loyalty_defaults")
        # A merge moves the merged customer's account or ledger and vouchers to the survivor (its
        # undo puts them back).
        registry.register_merge_handler("loyalty", merge=services.loyalty_customer_merge,
                                        undo=services.loyalty_customer_merge_undo)
        # An erasure scrubs the free text of the person's ledger, in its transaction.
        registry.register_erasure_handler("loyalty", services.loyalty_erase)
        registry.register_export_section("loyalty", selectors.loyalty_export_data)
        # The 360 has always shown the account at its top, under "loyalty".
        registry.register_customer_360_section("loyalty", selectors.loyalty_account_summary, top_level=True)
        # A change of what counts as a sale earns or gives back points, before analytics recomputes.
        registry.register_counted_sale_dependent("loyalty", services.loyalty_counted_sale_recompute, order=10,
                                                 with_statuses=True)
