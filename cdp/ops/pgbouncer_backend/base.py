"""The django-tenants backend, safe behind PgBouncer in transaction pooling (``CDP_PGBOUNCER=transaction``).

Why the plain backend is not: the tenant lives in the connection's ``search_path``, set with a
``SET`` statement. In transaction pooling PgBouncer may give each *transaction* another server
connection, and outside ``atomic()`` Django runs every statement as its own transaction, so
``SET search_path = alpha`` goes to one server connection and the ``SELECT`` after it to another,
one that a different client just set to ``beta``: a read from the wrong tenant. Setting it
before every cursor (``CDP_TENANT_LIMIT_SET_CALLS=0``) does not help, for the same reason.
PgBouncer 1.20+ can restore ``search_path`` itself (``track_extra_parameters``, with a server
that reports it, PostgreSQL 18 does), but Debian 12 ships 1.18.

What this backend does: the ``SET search_path`` is sent at the start of every transaction, inside
it, and a statement outside ``atomic()`` is run in a transaction of its own with the ``SET`` in
front (one round trip more per such statement). A transaction keeps its server connection, so
the statement always sees its own tenant's tables. Statements that cannot run inside a
transaction (``CREATE DATABASE``, ``VACUUM``, ``... CONCURRENTLY``) pass through untouched.
"""

from __future__ import annotations

import re

from django.db.backends import utils as backend_utils
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper
from django_tenants.utils import quote_schema_name

_OUTSIDE_TRANSACTION = re.compile(
    r"^\s*(CREATE\s+DATABASE|DROP\s+DATABASE|ALTER\s+SYSTEM|VACUUM|REINDEX\b.*\bCONCURRENTLY|"
    r"(CREATE|DROP)\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY)", re.IGNORECASE | re.DOTALL)
# Savepoint statements need no search path. Sending the SET in front of ROLLBACK TO SAVEPOINT would
# be undone by it at once, while the wrapper believed the path set: the next query would run in
# whatever schema the savepoint started in (tests/test_platform.py, through PgBouncer).
_SAVEPOINT = re.compile(r"^\s*(SAVEPOINT|RELEASE\s+SAVEPOINT|ROLLBACK\s+TO\s+SAVEPOINT)\b", re.IGNORECASE)


class _PooledCursorMixin:
    def _run(self, method, sql, params):
        db = self.db
        if isinstance(sql, str) and (_OUTSIDE_TRANSACTION.match(sql) or _SAVEPOINT.match(sql)):
            return method(sql, params)
        if not db.in_atomic_block and db.get_autocommit():
            # A transaction of its own (what atomic() does, on this very wrapper).
            db.set_autocommit(False)
            try:
                db.search_path_in_transaction(self.cursor)
                result = method(sql, params)
                db.commit()
                return result
            except BaseException:
                db.rollback()
                raise
            finally:
                db.set_autocommit(True)
        db.search_path_in_transaction(self.cursor)
        return method(sql, params)

    def execute(self, sql, params=None):
        return self._run(super().execute, sql, params)

    def executemany(self, sql, param_list):
        return self._run(super().executemany, sql, param_list)


class PooledCursorWrapper(_PooledCursorMixin, backend_utils.CursorWrapper):
    pass


class PooledCursorDebugWrapper(_PooledCursorMixin, backend_utils.CursorDebugWrapper):
    pass


class DatabaseWrapper(TenantDatabaseWrapper):
    def __init__(self, *args, **kwargs):
        self._path_set_in_transaction = False
        super().__init__(*args, **kwargs)

    def _handle_search_path(self, cursor=None):
        """Not at cursor creation (in autocommit the SET would be a transaction of its own): at
        the first statement of each transaction (``search_path_in_transaction``)."""

    def search_path_in_transaction(self, raw_cursor) -> None:
        if self._path_set_in_transaction:
            return
        paths = ",".join(quote_schema_name(schema) for schema in self._get_cursor_search_paths())
        raw_cursor.execute(f"SET search_path = {paths}")
        self._path_set_in_transaction = True

    def _forget_path(self):
        self._path_set_in_transaction = False

    def set_tenant(self, tenant, include_public=True):
        self._path_set_in_transaction = False
        super().set_tenant(tenant, include_public)

    def _commit(self):
        self._forget_path()
        return super()._commit()

    def _rollback(self):
        self._forget_path()
        return super()._rollback()

    def _savepoint_rollback(self, sid):
        try:
            return super()._savepoint_rollback(sid)
        finally:
            self._forget_path()  # a SET made after the savepoint was undone with it

    def _set_autocommit(self, autocommit):
        self._forget_path()
        return super()._set_autocommit(autocommit)

    def close(self):
        self._forget_path()
        super().close()

    def make_cursor(self, cursor):
        return PooledCursorWrapper(cursor, self)

    def make_debug_cursor(self, cursor):
        return PooledCursorDebugWrapper(cursor, self)
