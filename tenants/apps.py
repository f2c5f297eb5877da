from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants and access"

    def ready(self):
        from django.contrib.auth.signals import user_logged_out

        from cdp import registry
        from tenants.receivers import on_user_logged_out

        user_logged_out.connect(on_user_logged_out, dispatch_uid="tenants.user_session_end")
        # Every member manages their own sessions; the member-sessions part needs ``security``.
        registry.register_portal_nav(gettext_lazy("Sessions"), "portal:sessions", order=90, capability="read")
