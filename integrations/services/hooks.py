"""Inbound hooks: VTEX order-status notifications (feed/hook configuration).

VTEX POSTs ``{"Domain", "OrderId", "State", "LastState", "LastChange", "CurrentChange", "Origin"}``
(and ``{"hookConfig": "ping"}`` when the hook is configured). We authenticate the call with the
integration's ``hook_secret`` credential, sent by VTEX as the ``X-CDP-Hook-Secret`` header (set it
in the hook's ``headers``), compared in constant time (HMACs of both sides, so neither the
secret's content nor its length shows in the timing); then fetch the order's detail and ingest
it. Ingest is idempotent, so repeated or out-of-order notifications are harmless: the detail we
fetch is always the order's current state. The API view throttles the endpoint per integration
and client address, and refuses a tenant that is not active.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets as pysecrets

from django.db import connection, transaction

from cdp.exceptions import ApplicationError, PermissionDenied
from cdp.ids import parse_id
from cdp.tasks import enqueue_on_commit
from customers.services import order_ingest
from customers.services.ingest import REJECTED
from integrations import crypto
from integrations.codes import ErrorCode
from integrations.connectors.vtex import VtexConnector, vtex_order_record
from integrations.models import Integration
from integrations.services.integrations import integration_credentials, integration_credentials_store
from integrations.services.raw import vtex_orders_store
from integrations.services.sync import sync_actor

logger = logging.getLogger(__name__)


class HookRefused(PermissionDenied):
    code = ErrorCode.HOOK_REFUSED


_COMPARE_KEY = pysecrets.token_bytes(32)  # per process: the digests below are never stored or shown


def _secret_matches(expected: str, given: str | None) -> bool:
    """Constant time, whatever the lengths: the HMACs of both sides (always 32 bytes) are
    compared, not the strings, whose lengths ``compare_digest`` would reveal. Work is the same
    for an unknown integration (empty ``expected``) as for a wrong secret."""
    mac = hmac.new(_COMPARE_KEY, (expected or "").encode(), hashlib.sha256).digest()
    offered = hmac.new(_COMPARE_KEY, (given or "").encode(), hashlib.sha256).digest()
    return hmac.compare_digest(mac, offered) and bool(expected)


def vtex_hook_receive(*, integration_id, secret: str, payload) -> dict:
    """Check the caller and queue the order fetch. Unknown integration and wrong secret get the
    same refusal, so the endpoint does not reveal which integrations exist."""
    pk = parse_id(integration_id)  # None: an id that cannot exist is looked up (and refused) all the same
    integration = Integration.objects.filter(pk=pk, integration_type=Integration.Type.VTEX).first()
    expected = ""
    if integration is not None and integration.is_active:
        expected = str(integration_credentials(integration=integration).get("hook_secret") or "")
    if not _secret_matches(expected, secret):
        raise HookRefused("Hook credentials refused.")
    if not isinstance(payload, dict):
        raise ApplicationError("Send a JSON object.", code=ErrorCode.HOOK_PAYLOAD_INVALID)
    if payload.get("hookConfig") == "ping":
        return {"status": "pong"}
    order_id = str(payload.get("OrderId") or "").strip()
    if not order_id or len(order_id) > 64 or "/" in order_id:
        raise ApplicationError("OrderId is required.", code=ErrorCode.HOOK_PAYLOAD_INVALID,
                               fields={"OrderId": ["This field is required."]})
    enqueue_on_commit("integrations.tasks.vtex_order_fetch_task", integration_id=integration.pk, order_id=order_id)
    return {"status": "queued", "order_id": order_id}


def vtex_order_fetch(*, integration_id: int, order_id: str) -> str:
    """Fetch one VTEX order and ingest it (raw payload kept). Returns the ingest outcome, or
    ``"integration_deleted"`` when the integration was deleted after the hook queued the fetch."""
    integration = Integration.objects.filter(pk=integration_id).first()
    if integration is None:
        return "integration_deleted"
    credentials = integration_credentials(integration=integration)
    connector = VtexConnector(integration=integration, credentials=credentials,
                              on_credentials_change=lambda new: integration_credentials_store(
                                  integration_id=integration_id, credentials=new))
    try:
        detail = connector.order_detail(order_id)
    except ApplicationError as exc:
        exc.message = crypto.mask(exc.message, crypto.secret_values(credentials))
        raise
    with transaction.atomic():
        vtex_orders_store(integration=integration, details=[detail])
        result = order_ingest(records=[vtex_order_record(detail)], actor=sync_actor(integration),
                              tenant=connection.tenant, default_source=integration.source, lenient_profile=True)
    outcome = result.results[0]
    if outcome.status == REJECTED:
        logger.warning("VTEX order %s from hook rejected: %s", order_id, outcome.errors)
    return outcome.status
