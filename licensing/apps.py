from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class LicensingConfig(AppConfig):
    name = "licensing"
    verbose_name = "Licensing and releases"

    def ready(self):
        from cdp import registry
        from licensing import signing
        from licensing.services.usage import license_quota_guard

        # customers (and anything else that creates a limited resource) call
        # cdp.registry.quota_check(...) without importing licensing.
        registry.register_quota_guard(license_quota_guard)
        registry.register_portal_nav(gettext_lazy("License"), "licensing:overview", order=80)
        # A tenant moved to another cluster keeps validating only if both sign with one key.
        registry.register_identity_key(
            "license_signing", signing.public_key_pem,
            mismatch="this cluster signs license answers with another key than the source: clients that "
                     "verify with the source's public key will reject its answers (use one "
                     "CDP_LICENSE_SIGNING_KEY for every cluster)")
