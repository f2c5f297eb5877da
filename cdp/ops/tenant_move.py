"""Move or restore one tenant between clusters (``manage.py tenant_export`` / ``tenant_import``).

An export is one ``.tar.gz`` (mode 0600):

- ``schema.dump``: ``pg_dump -n <schema>`` of the tenant's schema (every table, sequence, index);
- ``public.json``: the tenant's rows of the shared schema: every row that reaches the tenant by
  foreign keys (domains, memberships, API keys, audit log, licenses with their machines and
  logs, billing orders, invoices, subscriptions...), found by following the models' foreign keys
  rather than by a list that would age; plus the shared rows they point at (users, plans,
  products, coupons, content types) with their natural key (e-mail, code, unique fields);
- ``keys/credentials``: the credential keys that decrypt the tenant's ``*_encrypted`` columns
  (unless ``--without-keys``); ``manifest.json``: what, from where, which migrations, fingerprints.

An import inserts the shared rows under new ids (every foreign key rewritten; a user or plan the
target already has is reused by its natural key, one it lacks is created, never with staff
rights), restores the schema, rewrites the schema's references into the shared tables (the
tenant admin's history points at users and content types), re-encrypts credentials with the
target's newest key when the target's keys cannot read them, and migrates the schema if the
target's code is newer. Nothing is left behind when it fails. Some keys are the platform's
identity, not the tenant's (licensing's signing key): the apps owning them register them with
``cdp.registry.register_identity_key``, the manifest records their fingerprints and the import
warns when the target holds another one (clients verifying answers with the old public key would
reject them). This module imports no app: the tenant model comes from django-tenants' setting.
"""

from __future__ import annotations

import io
import json
import logging
import os
import tarfile
import tempfile
from collections import defaultdict
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.management import call_command
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.db.migrations.loader import MigrationLoader
from django_tenants.utils import get_tenant_model

from cdp import crypto, registry
from cdp.ops import pgctl
from cdp.ops.backup import BackupError, fingerprint

logger = logging.getLogger(__name__)

#: Shared rows that belong to a machine or a sign-in, not to the tenant: never carried.
NOT_CARRIED = {"tenants.usersession", "tenants.passwordresetrequest", "sessions.session", "admin.logentry",
               "axes.accessattempt", "axes.accessfailurelog", "axes.accesslog"}


def _label(model) -> str:
    return model._meta.label_lower


def _shared_models() -> list[type[models.Model]]:
    tenant_only = {app.split(".")[-1] for app in settings.TENANT_APPS} - {
        app.split(".")[-1] for app in settings.SHARED_APPS}
    return [model for model in apps.get_models(include_auto_created=True)
            if model._meta.app_label not in tenant_only and model._meta.managed and not model._meta.proxy
            and _label(model) not in NOT_CARRIED]


def _fks(model):
    return [field for field in model._meta.concrete_fields if field.is_relation and field.many_to_one or
            (field.is_relation and field.one_to_one and field.concrete)]


def natural_key_fields(model) -> tuple[str, ...]:
    """The fields that name a shared row across clusters: e-mail, code, a unique field or a
    unique constraint's fields."""
    if _label(model) == "contenttypes.contenttype":
        return ("app_label", "model")
    if model is apps.get_model(settings.AUTH_USER_MODEL):
        return ("email",)
    for field in model._meta.concrete_fields:
        if field.unique and not field.primary_key:
            return (field.attname,)
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and constraint.fields and constraint.condition is None:
            return tuple(model._meta.get_field(name).attname for name in constraint.fields)
    raise BackupError(f"{model._meta.label} has no natural key: cannot be matched in another cluster")


def owned_rows(tenant) -> dict[type[models.Model], set]:
    """Every shared row that reaches ``tenant`` by foreign keys (users and catalogs excluded: they
    are pointed at, not owned)."""
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    owned: dict[type[models.Model], set] = defaultdict(set)
    owned[type(tenant)].add(tenant.pk)
    candidates = [model for model in _shared_models() if model not in (type(tenant), user_model)]
    changed = True
    while changed:
        changed = False
        for model in candidates:
            for field in _fks(model):
                target = field.related_model
                if target in owned and owned[target]:
                    pks = set(model._base_manager.filter(**{f"{field.name}__in": owned[target]})
                              .values_list("pk", flat=True))
                    if not pks <= owned[model]:
                        owned[model] |= pks
                        changed = True
    return {model: pks for model, pks in owned.items() if pks}


def _serialize(model, pks) -> list[dict]:
    rows = []
    pks = sorted(pks)
    for start in range(0, len(pks), 2000):
        objects = model._base_manager.filter(pk__in=pks[start:start + 2000]).order_by("pk")
        rows += serializers.serialize("python", objects, fields=[
            field.name for field in model._meta.concrete_fields if not field.primary_key])
    return rows


def tenant_export(*, slug: str, output: Path, database_url: str, with_keys: bool = True) -> dict:
    """Write ``slug``'s export to ``output`` (see the module docstring) and return its manifest."""
    tenant = _tenant_by_slug(slug)
    schema = tenant.schema_name
    owned = owned_rows(tenant)
    public = {_label(model): _serialize(model, pks) for model, pks in owned.items()}
    refs = SharedReferences(owned)
    refs.add_pointed_at_by(owned)
    cross = cross_schema_references(schema)
    refs.add_pointed_at_from_schema(schema, cross)
    credential_keys = [key.decode() for key in crypto.keys_in_use()]
    manifest = {
        "slug": slug, "schema": schema, "format": 1,
        "exported_from": connection.settings_dict.get("NAME"),
        "migrations": schema_migrations(schema), "cross_schema_references": cross,
        "public_counts": {label: len(rows) for label, rows in public.items()},
        "credentials_key_fingerprints": [fingerprint(key) for key in credential_keys],
        "keys_carried": with_keys,
        "identity_keys": {name: fingerprint(key()) for name, key, _mismatch in registry.identity_keys()},
    }
    _write_archive(output, database_url=database_url, schema=schema, manifest=manifest,
                   public={"owned": public, "refs": refs.rows}, credential_keys=credential_keys if with_keys else None)
    return manifest


def _tenant_by_slug(slug: str):
    tenant_model = get_tenant_model()
    try:
        return tenant_model.objects.get(slug=slug)
    except tenant_model.DoesNotExist:
        raise BackupError(f"no tenant '{slug}'") from None


class SharedReferences:
    """The shared rows an export points at without owning them (users, plans, content types...),
    each serialized with its natural key, and the rows they point at in turn."""

    def __init__(self, owned: dict[type[models.Model], set]):
        self.owned = owned
        self.rows: dict[str, dict] = defaultdict(dict)

    def add(self, model, pk) -> None:
        if pk is None or (model in self.owned and pk in self.owned[model]) or str(pk) in self.rows[_label(model)]:
            return
        obj = model._base_manager.filter(pk=pk).first()
        if obj is None:
            return
        row = serializers.serialize("python", [obj])[0]
        row["natural_key"] = {name: getattr(obj, name) for name in natural_key_fields(model)}
        self.rows[_label(model)][str(pk)] = row
        for field in _fks(model):  # a plan's product, a product's category...
            self.add(field.related_model, getattr(obj, field.attname))

    def add_pointed_at_by(self, owned: dict[type[models.Model], set]) -> None:
        """Every row the owned shared rows point at."""
        for model, pks in owned.items():
            for field in _fks(model):
                values = model._base_manager.filter(pk__in=pks).values_list(field.attname, flat=True).distinct()
                for value in values:
                    self.add(field.related_model, value)

    def add_pointed_at_from_schema(self, schema: str, cross: list[dict]) -> None:
        """Every shared row the tenant's schema points at (``cross_schema_references``)."""
        by_table = {model._meta.db_table: model for model in apps.get_models()}
        with connection.cursor() as cursor:
            for ref in cross:
                cursor.execute(f'SELECT DISTINCT "{ref["column"]}" FROM "{schema}"."{ref["table"]}" '
                               f'WHERE "{ref["column"]}" IS NOT NULL')
                for (value,) in cursor.fetchall():
                    self.add(by_table[ref["references"]], value)


def cross_schema_references(schema: str) -> list[dict]:
    """The foreign keys of ``schema``'s tables into the shared schema: ``{table, column, references}``."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT c.relname, a.attname, f.relname FROM pg_constraint k
              JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
              JOIN pg_class f ON f.oid = k.confrelid JOIN pg_namespace fn ON fn.oid = f.relnamespace
              JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
             WHERE k.contype = 'f' AND n.nspname = %s AND fn.nspname = %s""", [schema, settings.PUBLIC_SCHEMA_NAME])
        return [{"table": t, "column": c, "references": r} for t, c, r in cursor.fetchall()]


def schema_migrations(schema: str) -> list[str]:
    """``app.name`` of every migration applied in ``schema``, in the order they ran."""
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT app, name FROM "{schema}".django_migrations ORDER BY id')
        return [f"{app}.{name}" for app, name in cursor.fetchall()]


def _write_archive(output: Path, *, database_url: str, schema: str, manifest: dict, public: dict,
                   credential_keys: list[str] | None) -> None:
    """``pg_dump`` of the schema and the JSON parts in one private (0600) ``.tar.gz``."""
    with tempfile.TemporaryDirectory() as scratch:
        dump = Path(scratch) / "schema.dump"
        args, env = pgctl.client_args(database_url)
        pgctl.run([pgctl.program("pg_dump"), *args, "-Fc", "-n", schema, "--no-owner", "-f", str(dump)], env=env)
        output.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle, tarfile.open(fileobj=handle, mode="w:gz") as tar:
            _add(tar, "manifest.json", json.dumps(manifest, indent=2).encode())
            _add(tar, "public.json", json.dumps(public, cls=DjangoJSONEncoder).encode())
            if credential_keys is not None:
                _add(tar, "keys/credentials", ",".join(credential_keys).encode())
            tar.add(dump, arcname="schema.dump")


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o600
    tar.addfile(info, io.BytesIO(data))


# --- import ---------------------------------------------------------------------------------------

def _allocate(model, count: int) -> list:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [model._meta.db_table, model._meta.pk.column, count])
        return [row[0] for row in cursor.fetchall()]


def _map_refs(refs: dict) -> dict[str, dict]:
    """{model label: {old pk (str): pk in this cluster}}: found by natural key, else created."""
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    mapping: dict[str, dict] = defaultdict(dict)
    pending = {label: dict(rows) for label, rows in refs.items()}
    for _ in range(10):  # a product's category first: retry what waits for another ref
        progressed = False
        for label, rows in pending.items():
            model = apps.get_model(label)
            for old, row in list(rows.items()):
                lookup = {name: value for name, value in row["natural_key"].items()}
                if model is user_model:
                    lookup = {"email__iexact": lookup["email"]}
                found = model._base_manager.filter(**lookup).values_list("pk", flat=True).first()
                if found is None:
                    obj = next(serializers.deserialize("python", [row])).object
                    waiting = False
                    for field in _fks(model):
                        value = getattr(obj, field.attname)
                        if value is None:
                            continue
                        new = mapping[_label(field.related_model)].get(str(value))
                        if new is None:
                            waiting = True
                            break
                        setattr(obj, field.attname, new)
                    if waiting:
                        continue
                    obj.pk = None
                    if model is user_model:  # never staff rights from an import
                        obj.is_staff = obj.is_superuser = False
                    obj.save(force_insert=True)
                    found = obj.pk
                mapping[label][old] = found
                del rows[old]
                progressed = True
        pending = {label: rows for label, rows in pending.items() if rows}
        if not pending or not progressed:
            break
    if pending:
        raise BackupError(f"could not match shared rows: {sorted(pending)}")
    return mapping


def tenant_import(*, path: Path, database_url: str, progress=None) -> dict:
    Tenant = get_tenant_model()  # noqa: N806 - a model class
    say = progress or (lambda message: None)
    with tarfile.open(path) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        data = json.loads(tar.extractfile("public.json").read())
        names = tar.getnames()
        carried_keys = tar.extractfile("keys/credentials").read().decode() if "keys/credentials" in names else ""
        scratch = tempfile.TemporaryDirectory()
        tar.extract("schema.dump", scratch.name, filter="data")
    dump = Path(scratch.name) / "schema.dump"
    slug, schema = manifest["slug"], manifest["schema"]
    if Tenant.objects.filter(slug=slug).exists() or Tenant.objects.filter(schema_name=schema).exists():
        raise BackupError(f"this cluster already has a tenant '{slug}'")
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
        if cursor.fetchone():
            raise BackupError(f"this cluster already has a schema '{schema}'")
    known = {f"{app}.{name}" for app, name in MigrationLoader(connection, ignore_no_migrations=True).graph.nodes}
    unknown = sorted(set(manifest["migrations"]) - known)
    if unknown:
        raise BackupError(f"the export has migrations this code lacks ({', '.join(unknown[:5])}): upgrade first")
    warnings = identity_key_warnings(manifest)
    args, env = pgctl.client_args(database_url)
    restore = [pgctl.program("pg_restore"), *args, "--no-owner", "--exit-on-error", "--single-transaction"]
    say(f"restoring schema {schema}")
    pgctl.run([*restore, "--section=pre-data", "--section=data", str(dump)], env=env)
    try:
        with transaction.atomic():
            counts = _import_public(data, say)
            _rewrite_cross_references(schema, manifest, data, counts.pop("_refmap"))
            reencrypted = _credentials_readable(schema, carried_keys)
        say("restoring indexes and constraints")
        pgctl.run([*restore, "--section=post-data", str(dump)], env=env)
    except BaseException:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        raise
    finally:
        scratch.cleanup()
    if set(manifest["migrations"]) != known:
        say("migrating the schema to this code")
        call_command("migrate_schemas", schema_name=schema, interactive=False, verbosity=0)
    return {"slug": slug, "schema": schema, "public": counts, "reencrypted": reencrypted, "warnings": warnings}


def identity_key_warnings(manifest: dict) -> list[str]:
    """A warning for each platform identity key (``cdp.registry.identity_keys``) this cluster holds
    another one of than the export's source."""
    theirs = dict(manifest.get("identity_keys") or {})
    if "license_signing_public_key" in manifest:  # exports written before the identity-key hooks
        theirs.setdefault("license_signing", manifest["license_signing_public_key"])
    return [mismatch for name, key, mismatch in registry.identity_keys()
            if name in theirs and theirs[name] != fingerprint(key())]


def _import_public(data: dict, say) -> dict:
    refmap = _map_refs(data["refs"])
    owned = {label: rows for label, rows in data["owned"].items()}
    newpk: dict[str, dict] = {}
    for label, rows in owned.items():
        model = apps.get_model(label)
        if isinstance(model._meta.pk, models.AutoField | models.BigAutoField):
            newpk[label] = dict(zip([str(row["pk"]) for row in rows], _allocate(model, len(rows)), strict=True))
        else:
            newpk[label] = {str(row["pk"]): row["pk"] for row in rows}
    counts = {}
    for label, rows in owned.items():
        model = apps.get_model(label)
        objects = []
        for row, obj in zip(rows, serializers.deserialize("python", rows), strict=True):
            instance = obj.object
            instance.pk = newpk[label][str(row["pk"])]
            for field in _fks(model):
                value = getattr(instance, field.attname)
                if value is None:
                    continue
                target = _label(field.related_model)
                mapped = newpk.get(target, {}).get(str(value))
                if mapped is None:
                    mapped = refmap.get(target, {}).get(str(value))
                if mapped is None:
                    if field.null:
                        mapped = None  # pointed at a row that is gone: as SET_NULL would have
                    else:
                        raise BackupError(f"{label}.{field.name} points at {target} {value}, not exported")
                setattr(instance, field.attname, mapped)
            objects.append(instance)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # rows of one model point at the next
        model._base_manager.bulk_create(objects, batch_size=1000)  # bulk: no save(), no schema creation
        counts[label] = len(objects)
        say(f"{label}: {len(objects)}")
    counts["_refmap"] = refmap
    return counts


def _rewrite_cross_references(schema: str, manifest: dict, data: dict, refmap: dict) -> None:
    """The schema's columns that point into shared tables (the tenant admin's history: users,
    content types) now hold this cluster's ids."""
    by_table = {model._meta.db_table: _label(model) for model in apps.get_models()}
    with connection.cursor() as cursor:
        for ref in manifest["cross_schema_references"]:
            mapping = refmap.get(by_table[ref["references"]], {})
            pairs = [(int(old), int(new)) for old, new in mapping.items() if str(old) != str(new)]
            if not pairs:
                continue
            values = ", ".join(["(%s, %s)"] * len(pairs))
            cursor.execute(
                f'UPDATE "{schema}"."{ref["table"]}" t SET "{ref["column"]}" = m.new FROM (VALUES {values}) '
                f'm(old, new) WHERE t."{ref["column"]}" = m.old', [v for pair in pairs for v in pair])


def _credentials_readable(schema: str, carried: str) -> int:
    """Every ``*_encrypted`` value of the schema decrypts with this cluster's keys; those that do
    not are re-encrypted from the export's keys. Returns how many were re-encrypted."""
    ours = crypto.fernet()
    theirs = MultiFernet([Fernet(key) for key in crypto.credential_keys(carried)]) if carried else None
    changed = 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = %s "
                       "AND column_name LIKE '%%\\_encrypted' AND data_type = 'text'", [schema])
        for table, column in cursor.fetchall():
            cursor.execute(f'SELECT id, "{column}" FROM "{schema}"."{table}" WHERE "{column}" <> %s', [""])
            for pk, token in cursor.fetchall():
                try:
                    ours.decrypt(token.encode())
                    continue
                except InvalidToken:
                    pass
                if theirs is None:
                    raise BackupError(f"{table}.{column} is encrypted with a key this cluster lacks (fingerprints "
                                      "in the export's manifest): add it to CDP_CREDENTIALS_KEYS or export "
                                      "with keys")
                plain = theirs.decrypt(token.encode())
                cursor.execute(f'UPDATE "{schema}"."{table}" SET "{column}" = %s WHERE id = %s',
                               [ours.encrypt(plain).decode(), pk])
                changed += 1
    return changed
