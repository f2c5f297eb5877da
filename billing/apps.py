from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing and revenue"

    def ready(self):
        from cdp import registry

        registry.register_portal_nav("Billing", "billing:overview", order=85)
