from django.conf import settings as django_settings
from django.db import connection
from django.urls import NoReverseMatch, reverse
from django.utils import translation

from cdp import registry
from tenants.selectors import announcement_text, user_capabilities


def html_lang(code: str) -> str:
    """A BCP 47 tag for ``<html lang>``: Django's "pt-br" is "pt-BR"."""
    language, _sep, region = (code or django_settings.LANGUAGE_CODE).partition("-")
    return f"{language}-{region.upper()}" if region else language


def language(request):
    """``html_lang`` and the choices of the header's language selector."""
    current = translation.get_language() or django_settings.LANGUAGE_CODE
    user = getattr(request, "user", None)
    chosen = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
    return {
        "html_lang": html_lang(current),
        "language_current": current,
        "language_chosen": chosen,
        "language_options": [(code, name) for code, name in django_settings.LANGUAGES],
    }


def tenant(request):
    """The current tenant (None on the public host) and the portal's navigation links."""
    current = getattr(connection, "tenant", None)
    if current is None or current.schema_name == "public":
        return {"tenant": None, "portal_nav": [], "portal_capabilities": frozenset()}
    nav = []
    user = getattr(request, "user", None)
    capabilities = user_capabilities(user=user, tenant=current) if user and user.is_authenticated else frozenset()
    for label, url_name, capability in registry.portal_nav():
        if capability not in capabilities:
            continue
        try:
            nav.append({"label": str(label), "url": reverse(url_name), "url_name": url_name})
        except NoReverseMatch:
            continue
    return {"tenant": current, "portal_nav": nav, "portal_capabilities": capabilities}


def announcement(request):
    """The operators' announcement (system setting ``announcement``) for the banner of every page."""
    return {"announcement": announcement_text(language=translation.get_language() or django_settings.LANGUAGE_CODE)}
