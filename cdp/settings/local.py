"""Local development and ``make run``: debug on, a stable secret under the data directory."""

from cdp.settings.base import *  # noqa: F401,F403
from cdp.settings.base import SECRET_KEY as _SECRET_KEY
from cdp.secrets import local_secret

DEBUG = True
SECRET_KEY = _SECRET_KEY or local_secret("django-secret-key")
