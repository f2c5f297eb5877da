from django.apps import AppConfig


class AiConfig(AppConfig):
    name = "ai"
    verbose_name = "AI mesh"

    def ready(self):
        from ai.services import keys_rotate_all
        from cdp import registry

        # manage.py rotate_credentials (integrations) re-encrypts the key pool too.
        registry.register_credentials_rotator("ai keys", keys_rotate_all)
        registry.register_portal_nav("AI", "ai:assistant", order=75, capability="analytics")
