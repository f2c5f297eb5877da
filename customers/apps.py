from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"

    def ready(self) -> None:
        from cdp import registry

        def customer_count() -> int:
            from customers.models import Customer

            return Customer.objects.exclude(status="merged").count()

        registry.register_usage_provider("customers", customer_count)
        registry.register_portal_nav("Customers", "customers:list", order=10)
        registry.register_demo_data_command("load_demo_data")
        from customers.loyalty_hooks import loyalty_hooks_connect

        loyalty_hooks_connect()  # ingested orders earn loyalty points
