import os

from django.core.wsgi import get_wsgi_application

from cdp import embedded

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp.settings.local")
embedded.start()  # a no-op under `manage.py serve` and with DATABASE_URL/REDIS_URL set

application = get_wsgi_application()
