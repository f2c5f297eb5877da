from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class CustomersConfig(AppConfig):
    name = "customers"

    def ready(self) -> None:
        # Imported here: these modules use the models, which exist once the apps are loaded.
        from django_tenants.signals import post_schema_sync

        from cdp import registry
        from customers.loyalty_hooks import loyalty_hooks_connect
        from customers.receivers import on_tenant_schema_created
        from customers.registry import register_erasure_handler
        from customers.selectors import customer_count
        from customers.services.consent import consent_erase

        registry.register_usage_provider("customers", customer_count)
        registry.register_portal_nav(gettext_lazy("Customers"), "customers:list", order=10)
        registry.register_demo_data_command("load_demo_data")
        register_erasure_handler("consent", consent_erase)  # proof of consent identifies the person
        loyalty_hooks_connect()  # ingested orders earn loyalty points
        post_schema_sync.connect(on_tenant_schema_created, dispatch_uid="customers.loyalty_defaults")
