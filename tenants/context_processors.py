from django.db import connection
from django.urls import NoReverseMatch, reverse

from cdp import registry
from tenants.selectors import user_capabilities


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
            nav.append({"label": label, "url": reverse(url_name)})
        except NoReverseMatch:
            continue
    return {"tenant": current, "portal_nav": nav, "portal_capabilities": capabilities}
