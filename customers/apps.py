from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class CustomersConfig(AppConfig):
    name = "customers"

    def ready(self) -> None:
        # Imported here: these modules use the models, which exist once the apps are loaded.
        from cdp import registry
        from customers.registry import register_erasure_handler
        from customers.selectors import customer_count
        from customers.services.consent import consent_erase
        from customers.services.documents import documents_rotate

        registry.register_usage_provider("customers", customer_count)
        registry.register_portal_nav(gettext_lazy("Customers"), "customers:list", order=10)
        registry.register_demo_data_command("load_demo_data")
        register_erasure_handler("consent", consent_erase)  # proof of consent identifies the person
        registry.register_tenant_credentials_rotator("customer documents", documents_rotate)
