"""Local development and ``make run``: a stable secret under the data directory.

Django's debug pages (settings, source excerpts, paths) appear only when a developer asks for them
with ``CDP_DEBUG=1``: ``make run`` is what a newcomer, and sometimes a demo audience, sees, and it
answers on every interface it binds to. Without it errors show the product's own 404/500 pages."""

from cdp.settings.base import *  # noqa: F401,F403
from cdp.settings.base import SECRET_KEY as _SECRET_KEY
from cdp.settings.base import env_bool
from cdp.secrets import local_secret

DEBUG = env_bool("CDP_DEBUG", False)
SECRET_KEY = _SECRET_KEY or local_secret("django-secret-key")
