from django.apps import AppConfig
from django.urls import register_converter


class CdpConfig(AppConfig):
    name = "cdp"
    verbose_name = "CDP core"

    def ready(self):
        from cdp.ids import IdConverter

        # ``<id:pk>`` in every URL conf (admin pages included): an id the database can hold, or the
        # URL does not match (404). Registered before any URL conf is loaded.
        register_converter(IdConverter, "id")
