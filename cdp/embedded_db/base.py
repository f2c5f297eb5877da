from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper

from cdp import embedded


class DatabaseWrapper(TenantDatabaseWrapper):
    def get_new_connection(self, conn_params):
        embedded.start()  # a no-op once this process has started (or found) the server
        return super().get_new_connection(conn_params)
