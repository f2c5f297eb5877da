from django.db import connection
from django.urls import NoReverseMatch, reverse

from cdp import registry


def tenant(request):
    """The current tenant (None on the public host) and the portal's navigation links."""
    current = getattr(connection, "tenant", None)
    if current is None or current.schema_name == "public":
        return {"tenant": None, "portal_nav": []}
    nav = []
    for label, url_name in registry.portal_nav():
        try:
            nav.append({"label": label, "url": reverse(url_name)})
        except NoReverseMatch:
            continue
    return {"tenant": current, "portal_nav": nav}
