from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing and revenue"

    def ready(self):
        from billing.views import overview_section
        from cdp import registry

        registry.register_portal_nav(gettext_lazy("Billing"), "billing:overview", order=85, capability="billing")
        # The overview's plan card is followed by the subscription that pays for it (owners).
        registry.register_dashboard_section("billing", "billing/_overview.html", overview_section, order=21,
                                            capability="billing")
        # The platform's catalog, tax rates and coupons (public schema; --tenant is accepted and ignored).
        registry.register_demo_data_command("load_billing_demo")
