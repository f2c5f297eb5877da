from django.apps import AppConfig


class EngagementConfig(AppConfig):
    name = "engagement"

    def ready(self) -> None:
        from customers import registry as customers_registry
        from engagement.privacy import engagement_erase

        # Erasing a person scrubs the addresses and texts of the messages sent to them, atomically
        # with the profile (customers never imports engagement).
        customers_registry.register_erasure_handler("engagement", engagement_erase)
