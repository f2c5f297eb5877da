"""Database backend for the embedded PostgreSQL: django-tenants' backend that starts the server
(``cdp.embedded.start()``) before its first connection. The entry points start it earlier; this
covers scripts that only call ``django.setup()`` (the benchmarks, a one-off ``python -c``)."""
