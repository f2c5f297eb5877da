"""Double opt-in for e-mail marketing: where the tenant requires it, a grant is not recorded when
it is asked for, but when the person clicks the link sent to that address.

- ``opt_in_gate`` is registered with ``customers.registry`` as a consent gate: when a grant of
  e-mail marketing arrives (API, portal, member page, a profile edit of ``marketing_consent``)
  and the tenant requires double opt-in, it stores an ``OptInRequest`` with the asker's proof,
  queues the confirmation e-mail (a transactional message: it is the person's own request) and
  tells ``consent_record`` to record nothing. The consent stays as it was.
- ``opt_in_confirm`` (the link's page, a POST: mail scanners GET every link) records the grant
  through ``consent_record(confirmed=True)`` with the person's proof: the address and browser of
  the click, the wording version they were asked with, source as asked; the reason names the
  request. A second click changes nothing.
- The link is signed (tenant, request) and expires after ENGAGEMENT_OPT_IN_MAX_AGE_DAYS.
"""

from __future__ import annotations

import datetime

from django.core import signing
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext, override

from cdp.context import Actor
from cdp.exceptions import ApplicationError
from customers.models import ConsentChannel, ConsentPurpose
from customers.services.consent import consent_record
from engagement import conf
from engagement.codes import AuditAction, ErrorCode
from engagement.models import Language, MessageTemplate, OptInRequest
from engagement.selectors import engagement_settings
from engagement.services.common import audit, public_url
from engagement.services.notifications import notification_enqueue

SALT = "engagement.opt_in"
TRIGGER = "opt_in.confirm"
TEMPLATE_NAME = "opt-in-confirmation"
#: A second request for the same person within this time re-uses the pending one (no second e-mail).
RESEND_AFTER = datetime.timedelta(minutes=10)


class OptInTokenInvalid(ApplicationError):
    code = ErrorCode.OPT_IN_TOKEN_INVALID
    http_status = 404


def opt_in_token(request_id: int) -> str:
    return signing.dumps({"s": connection.schema_name, "r": int(request_id)}, salt=SALT, compress=True)


def opt_in_token_read(token: str) -> OptInRequest:
    """The request a genuine, unexpired token of this tenant names; ``OptInTokenInvalid`` otherwise."""
    max_age = datetime.timedelta(days=float(conf.get("ENGAGEMENT_OPT_IN_MAX_AGE_DAYS")))
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.BadSignature:  # SignatureExpired is one
        data = None
    request = None
    if isinstance(data, dict) and data.get("s") == connection.schema_name and isinstance(data.get("r"), int):
        request = OptInRequest.objects.select_related("customer").filter(pk=data["r"]).first()
    if request is None or request.customer.is_pseudonymized:  # an erased person confirms nothing
        raise OptInTokenInvalid("This confirmation link is not valid or has expired.")
    return request


def _confirmation_template() -> MessageTemplate:
    """The newest active version of the tenant's confirmation e-mail; a first one in the tenant's
    language when it has none (the tenant edits it by saving a new version)."""
    template = (MessageTemplate.objects.filter(name=TEMPLATE_NAME, channel=ConsentChannel.EMAIL, is_active=True)
                .order_by("-version").first())
    if template is not None:
        return template
    tenant = getattr(connection, "tenant", None)
    language = tenant.setting("language") if tenant is not None and hasattr(tenant, "setting") else "es"
    language = {"pt": Language.PT_BR, "pt_BR": Language.PT_BR}.get(language, language)
    language = language if language in Language.values else Language.ES
    with override(language.replace("-", "_")):
        subject = gettext("Confirm your subscription to {{ tenant_name }}")
        body = gettext("Hello {{ first_name }}: to receive our news by e-mail, confirm your subscription here: "
                       "{{ confirm_url }}\n\nIf you did not ask for it, ignore this message.")
    return MessageTemplate.objects.create(name=TEMPLATE_NAME, channel=ConsentChannel.EMAIL,
                                          purpose=ConsentPurpose.TRANSACTIONAL, language=language, version=1,
                                          subject=subject, body=body, created_by="system")


def opt_in_required(*, channel: str, purpose: str) -> bool:
    return channel == ConsentChannel.EMAIL and purpose == ConsentPurpose.MARKETING and \
        engagement_settings().double_opt_in_email


def opt_in_gate(*, customer_id: int, channel: str, purpose: str, source: str, actor: Actor, text_version: str = "",
                ip_address: str | None = None, user_agent: str = "", reason: str = "") -> bool:
    """Consent gate (``customers.registry``): True when the grant waits for the person's
    confirmation (a request is stored and the confirmation e-mail queued)."""
    if not opt_in_required(channel=channel, purpose=purpose):
        return False
    opt_in_request(customer_id=customer_id, source=source, actor=actor, text_version=text_version,
                   ip_address=ip_address, user_agent=user_agent)
    return True


@transaction.atomic
def opt_in_request(*, customer_id: int, source: str, actor: Actor, text_version: str = "",
                   ip_address: str | None = None, user_agent: str = "") -> OptInRequest:
    """Store a pending e-mail marketing opt-in and queue its confirmation e-mail (once: a pending
    request younger than RESEND_AFTER is returned as it is)."""
    recent = (OptInRequest.objects.filter(customer_id=customer_id, channel=ConsentChannel.EMAIL,
                                          purpose=ConsentPurpose.MARKETING, status=OptInRequest.Status.PENDING,
                                          created_at__gte=timezone.now() - RESEND_AFTER)
              .order_by("-created_at").first())
    if recent is not None:
        return recent
    request = OptInRequest.objects.create(
        customer_id=customer_id, channel=ConsentChannel.EMAIL, purpose=ConsentPurpose.MARKETING, source=source,
        text_version=(text_version or "")[:50], requested_by=actor.label[:255], request_ip=ip_address or None,
        request_user_agent=(user_agent or "")[:500])
    notification_enqueue(customer_id=customer_id, template_id=_confirmation_template().pk, trigger=TRIGGER,
                         key=str(request.pk),
                         context={"confirm_url": public_url("engagement:opt-in-confirm", opt_in_token(request.pk))})
    audit(actor=actor, action=AuditAction.OPT_IN_REQUEST, resource_type="customer", resource_id=customer_id,
          changes={"opt_in_request": [None, request.pk], "source": source})
    return request


@transaction.atomic
def opt_in_confirm(*, token: str, ip_address: str | None, user_agent: str = "") -> tuple[OptInRequest, bool]:
    """Record the grant a confirmation link names, with the proof of the click. Returns
    ``(request, newly_confirmed)``; a request already confirmed is returned unchanged."""
    request = opt_in_token_read(token)
    request = OptInRequest.objects.select_for_update().get(pk=request.pk)
    if request.status == OptInRequest.Status.CONFIRMED:
        return request, False
    actor = Actor(label="opt-in-link", ip=ip_address)
    consent_record(customer_id=request.customer_id, channel=request.channel, purpose=request.purpose, granted=True,
                   source=request.source, actor=actor, text_version=request.text_version, ip_address=ip_address,
                   user_agent=user_agent, self_service=True, confirmed=True,
                   reason=f"double opt-in confirmed (request {request.pk}, asked by {request.requested_by})"[:255])
    request.status, request.confirmed_at = OptInRequest.Status.CONFIRMED, timezone.now()
    request.confirm_ip, request.confirm_user_agent = ip_address or None, (user_agent or "")[:500]
    request.save(update_fields=["status", "confirmed_at", "confirm_ip", "confirm_user_agent"])
    audit(actor=actor, action=AuditAction.OPT_IN_CONFIRM, resource_type="customer", resource_id=request.customer_id,
          changes={"opt_in_request": [None, request.pk]})
    return request, True
