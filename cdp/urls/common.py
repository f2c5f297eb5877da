from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView


def docs_urlpatterns(urlconf: str, title: str) -> list:
    """Schema and offline docs for one host's URL conf (each host documents only what it serves)."""
    return [
        path("api/schema/", SpectacularAPIView.as_view(urlconf=urlconf, custom_settings={"TITLE": title}),
             name="schema"),
        path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
        path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    ]
