from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        from analytics import selectors
        from analytics.services.exports import export_guard
        from analytics.services.jobs import analytics_recompute_after_rule_change
        from analytics.views import overview_section
        from cdp.registry import register_dashboard_section, register_demo_data_command, register_portal_nav
        from customers import registry as customers_registry

        # Customer 360 shows RFM/CLV/churn; the shared customer list filters by segment.
        customers_registry.register_customer_360_section("scores", selectors.customer_scores)
        customers_registry.register_customer_filter("segment", selectors.segment_filter)
        customers_registry.register_customer_filter("rfm_segment", selectors.rfm_segment_filter)
        customers_registry.register_customer_filter("churn_band", selectors.churn_band_filter)
        customers_registry.register_customer_filter("clv_tier", selectors.clv_tier_filter)
        # The customer list's CSV export needs the same approval above the threshold as a segment's.
        customers_registry.register_export_guard(export_guard)
        # Every figure here counts sales: a change of the counted-sale rule starts a new run.
        customers_registry.register_counted_sale_dependent("analytics", analytics_recompute_after_rule_change)
        register_portal_nav(gettext_lazy("Analytics"), "analytics:dashboard", order=30)
        # The portal's home page opens with the headline figures (the same selectors as this app's page).
        register_dashboard_section("analytics", "analytics/_overview.html", overview_section, order=10)
        # After every app's demo data (customers' orders, integrations' ad spend), score them so
        # the demo dashboard has numbers.
        register_demo_data_command("run_analytics", order=90)
