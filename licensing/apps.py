from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class LicensingConfig(AppConfig):
    name = "licensing"
    verbose_name = "Licensing and releases"

    def ready(self):
        from cdp import registry
        from licensing.services.usage import license_quota_guard
        from licensing.views import overview_section

        # customers (and anything else that creates a limited resource) call
        # cdp.registry.quota_check(...) without importing licensing.
        registry.register_quota_guard(license_quota_guard)
        registry.register_portal_nav(gettext_lazy("License"), "licensing:overview", order=80)
        registry.register_dashboard_section("licensing", "licensing/_overview.html", overview_section, order=20)
