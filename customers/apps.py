from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"

    def ready(self) -> None:
        # Imported here: these modules use the models, which exist once the apps are loaded.
        from cdp import registry
        from customers.selectors import customer_count

        registry.register_usage_provider("customers", customer_count)
        registry.register_portal_nav("Customers", "customers:list", order=10)
        registry.register_demo_data_command("load_demo_data")

