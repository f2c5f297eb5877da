"""Loyalty's settings (``cdp.conf``: a Django setting of the same name wins; the environment's
``LOYALTY_*`` variables reach it through the settings module)."""

from cdp.conf import AppSettings

conf = AppSettings({
    # How long a member page sign-in link works (it works once).
    "LOYALTY_MEMBER_LINK_MINUTES": 30,
    # How long a member stays signed in to the member page after using a link.
    "LOYALTY_MEMBER_SESSION_HOURS": 12,
})
get = conf.get
