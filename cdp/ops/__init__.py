"""Operations beyond one machine: partitions and retention, backups, the read replica, the
PgBouncer-safe database backend, metrics and structured logs (issue #19).

Each module is usable on its own; none imports a product app (tenant apps register their
partitioned tables in their own ``partitions.py``)."""
