"""Client idempotency keys (``Idempotency-Key``), with the semantics integrators know from Stripe.

- The first request with a key runs; its answer (status and body) is kept, and a later request with
  the same key and the same parameters gets that answer again, marked as a replay.
- The same key with other parameters: ``409 idempotency_key_reused``.
- While the first request runs, another with its key waits up to ``BILLING_IDEMPOTENCY_WAIT_SECONDS``
  for its answer, then gets ``409 idempotency_in_progress``.
- Keys are scoped to a tenant, a principal (user or API key) and an operation, and kept at least
  ``BILLING_IDEMPOTENCY_TTL_HOURS`` (then ``idempotency_prune``, scheduled).
- Answers are kept only once execution started: input that fails validation is not recorded. An
  answer that is a server error is not kept either; but once the operation created an order, the key
  stays bound to it, so a retry can never pay twice: it gets the order's outcome (``recover``), or
  ``409 idempotency_in_progress`` while the payment is still being confirmed.

"Is the first request still running?" is a PostgreSQL session advisory lock held by the request
that runs: it is released when that request ends, even when its process dies (the connection closes).
The lock lives on a connection of its own, opened for the request's run, never on Django's: behind a
pooler in transaction mode (PgBouncer) Django's statements go to whichever server connection is
free, where a session lock would be taken on one and released on another (or never). With a pooler,
``CDP_LOCK_DATABASE_URL`` names the server itself.

Why not a library (drf-idempotency, django-idempotency-key): they store answers in clear, and these
answers carry license keys that exist in clear nowhere else; they know neither tenants nor the
order a key paid for; and the portal form needs the same guarantees outside DRF.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from billing import conf
from billing.codes import ErrorCode
from billing.models import IdempotencyRecord, Order
from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict
from tenants.models import Tenant

logger = logging.getLogger(__name__)

KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as in an HTTP header; Stripe's 255 max


class IdempotencyConflict(Conflict):
    """``idempotency_in_progress`` (retry shortly) or ``idempotency_key_reused`` (use a new key)."""


@dataclass(frozen=True)
class IdempotentAnswer:
    status: int
    body: Any
    replayed: bool = False


def idempotency_principal(actor: Actor) -> str:
    """Whose keys these are: an API key's are not a user's, and one user's are not another's."""
    if actor.api_key_id is not None:
        return f"api_key:{actor.api_key_id}"
    if actor.user_id is not None:
        return f"user:{actor.user_id}"
    return "anonymous"


def idempotency_key_clean(raw: str | None) -> str | None:
    """The key as sent, or None when absent; ``ApplicationError`` when it is not a usable key."""
    if raw is None:
        return None
    key = raw.strip()
    if not KEY_PATTERN.match(key):
        raise ApplicationError("The Idempotency-Key is 1 to 255 visible ASCII characters (a UUID is best).",
                               code=ErrorCode.IDEMPOTENCY_KEY_INVALID,
                               fields={"Idempotency-Key": ["1 to 255 visible ASCII characters."]})
    return key


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _fingerprint(params: Any) -> str:
    return _sha256(json.dumps(params, sort_keys=True, cls=DjangoJSONEncoder, separators=(",", ":")))


def _cipher(key: str, principal: str) -> Fernet:
    """Answers are encrypted with a key derived from the server's secret and the client's own key,
    which is stored nowhere: a copy of the table alone reveals nothing."""
    derived = HKDF(algorithm=SHA256(), length=32, salt=b"cdp.billing.idempotency",
                   info=f"{principal}\x00{key}".encode()).derive(settings.SECRET_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def idempotency_lock_id(tenant_id: int, principal: str, operation: str, key_hash: str) -> int:
    """The PostgreSQL advisory lock a request holds while it runs under its key (another request
    with the same key waits for it, then answers 409)."""
    digest = hashlib.sha256(f"idempotency|{tenant_id}|{principal}|{operation}|{key_hash}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _lock_connection() -> psycopg.Connection:
    """A connection of its own for the session lock: to ``CDP_LOCK_DATABASE_URL`` when set (the
    server behind a transaction pooler), else with Django's own parameters (same server, same
    database, whatever it is called under the tests)."""
    if settings.CDP_LOCK_DATABASE_URL:
        return psycopg.connect(settings.CDP_LOCK_DATABASE_URL, autocommit=True, connect_timeout=5)
    params = {key: value for key, value in connection.get_connection_params().items()
              if key not in ("cursor_factory", "context", "options")}
    return psycopg.connect(**params, autocommit=True, connect_timeout=5)


def _lock(lock_id: int, wait_seconds: float) -> psycopg.Connection | None:
    """Take the session advisory lock on a connection of its own, waiting (polling) up to
    ``wait_seconds``; returns that connection (closing it releases the lock), or None."""
    deadline = time.monotonic() + wait_seconds
    delay = 0.02
    holder = _lock_connection()
    try:
        while True:
            if holder.execute("SELECT pg_try_advisory_lock(%s)", [lock_id]).fetchone()[0]:
                return holder
            if time.monotonic() >= deadline:
                holder.close()
                return None
            time.sleep(delay)
            delay = min(delay * 2, 0.25)
    except BaseException:
        holder.close()
        raise


def _unlock(holder: psycopg.Connection) -> None:
    """Closing the lock's own connection ends its session, and the lock with it."""
    try:
        holder.close()
    except psycopg.Error:
        logger.warning("could not close an idempotency lock's connection")


def idempotent_run(*, tenant: Tenant, principal: str, operation: str, key: str | None, params: Any,
                   execute: Callable[[int | None], tuple[int, Any]],
                   recover: Callable[[Order], tuple[int, Any] | None]) -> IdempotentAnswer:
    """Run ``execute(record_id)`` once per key (see the module's docstring) and return its answer,
    or the answer kept for the key. ``execute`` returns ``(status, JSON-able body)`` and links the
    order it creates to ``record_id``; ``recover(order)`` gives the answer for an order whose request
    ended without one (None: not settled yet). Without a key, ``execute(None)`` simply runs."""
    if key is None:
        status, body = execute(None)
        return IdempotentAnswer(status, body)
    key_hash, request_hash = _sha256(key), _fingerprint(params)
    holder = _lock(idempotency_lock_id(tenant.pk, principal, operation, key_hash), conf.get("BILLING_IDEMPOTENCY_WAIT_SECONDS"))
    if holder is None:
        raise IdempotencyConflict("A request with this Idempotency-Key is still being processed; retry shortly.",
                                  code=ErrorCode.IDEMPOTENCY_IN_PROGRESS)
    try:
        scope = {"tenant": tenant, "principal": principal, "operation": operation, "key_hash": key_hash}
        now = timezone.now()
        record = IdempotencyRecord.objects.filter(**scope).first()
        if record is not None and record.expires_at <= now and (
                record.status == IdempotencyRecord.Status.COMPLETED or record.order_id is None):
            record.delete()  # past its retention: the key starts afresh, as once pruned
            record = None
        if record is None:
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(
                        **scope, request_hash=request_hash,
                        expires_at=now + datetime.timedelta(hours=conf.get("BILLING_IDEMPOTENCY_TTL_HOURS")))
            except IntegrityError:  # cannot happen under the lock; be loud rather than run twice
                raise IdempotencyConflict("A request with this Idempotency-Key is still being processed.",
                                          code=ErrorCode.IDEMPOTENCY_IN_PROGRESS) from None
            return _execute(record, key, principal, execute)
        if record.request_hash != request_hash:
            raise IdempotencyConflict("This Idempotency-Key was used with other parameters; use a new key for a "
                                      "new request.", code=ErrorCode.IDEMPOTENCY_KEY_REUSED)
        if record.status == IdempotencyRecord.Status.COMPLETED:
            return IdempotentAnswer(record.response_status, _decrypt(record, key, principal), replayed=True)
        # In progress, yet its lock was free: the request that ran it ended without an answer.
        if record.order_id is None:
            return _execute(record, key, principal, execute)  # it never reached an order: run it now
        recovered = recover(record.order)
        if recovered is None:
            raise IdempotencyConflict("The payment for this Idempotency-Key is still being confirmed with the "
                                      "gateway; retry later.", code=ErrorCode.IDEMPOTENCY_IN_PROGRESS)
        _complete(record, key, principal, *recovered)
        return IdempotentAnswer(*recovered, replayed=True)
    finally:
        _unlock(holder)


def _execute(record: IdempotencyRecord, key: str, principal: str,
             execute: Callable[[int | None], tuple[int, Any]]) -> IdempotentAnswer:
    try:
        status, body = execute(record.pk)
    except BaseException:
        _abandon(record.pk)
        raise
    if status >= 500:
        _abandon(record.pk)
    else:
        _complete(record, key, principal, status, body)
    return IdempotentAnswer(status, body)


def _abandon(record_id: int) -> None:
    """No answer to keep. Without an order nothing happened, so the key is freed; with one, the key
    stays bound to that order (a retry gets its outcome and never pays again)."""
    try:
        IdempotencyRecord.objects.filter(pk=record_id, order__isnull=True).delete()
    except DatabaseError:
        logger.warning("could not release idempotency record %s", record_id)


def _complete(record: IdempotencyRecord, key: str, principal: str, status: int, body: Any) -> None:
    record.status, record.response_status = IdempotencyRecord.Status.COMPLETED, status
    record.response = _cipher(key, principal).encrypt(json.dumps(body, cls=DjangoJSONEncoder).encode()).decode()
    record.completed_at = timezone.now()
    record.save(update_fields=["status", "response_status", "response", "completed_at"])


def _decrypt(record: IdempotencyRecord, key: str, principal: str) -> Any:
    try:
        return json.loads(_cipher(key, principal).decrypt(record.response.encode()))
    except InvalidToken:  # the server's secret changed since: the answer cannot be read any more
        raise IdempotencyConflict("The answer kept for this Idempotency-Key cannot be read any more; "
                                  "look the order up instead.", code=ErrorCode.IDEMPOTENCY_ANSWER_UNAVAILABLE) from None


def idempotency_prune(*, now=None) -> int:
    """Delete keys past their retention (scheduled). A key still bound to an unsettled order is kept
    until that order settles, so a retry can never pay it twice."""
    now = now or timezone.now()
    expired = IdempotencyRecord.objects.filter(expires_at__lt=now).filter(
        Q(status=IdempotencyRecord.Status.COMPLETED) | Q(order__isnull=True) | ~Q(order__status=Order.Status.PENDING))
    deleted, _ = expired.delete()
    return deleted
