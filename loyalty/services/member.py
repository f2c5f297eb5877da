"""The member page's sign-in (``/member/``): one-time links, no password and no staff account.

Promises:
- A link names one customer of one tenant: its token (32 random bytes, ``secrets``) is stored only
  as a SHA-256 in the tenant's schema, so another tenant's host never finds it.
- It works once and until it expires (``LOYALTY_MEMBER_LINK_MINUTES``); using it (a POST from the
  page the link opens, so that mail scanners fetching links do not spend them) marks it used under
  a row lock: two concurrent uses sign in once.
- A merged-away or erased customer cannot sign in (nor be sent a link).
- Asking for a link by e-mail says the same thing whether or not the address is a member's, and
  the e-mail goes out from a task, never inside the request.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from cdp.context import Actor
from cdp.exceptions import ApplicationError
from cdp.tasks import enqueue_on_commit
from customers.models import Customer
from customers.services.common import audit, customer_current
from loyalty import conf
from loyalty.codes import AuditAction, ErrorCode
from loyalty.models import MemberLink
from loyalty.services.referrals import referral_code_issue
from tenants.locale import tenant_locale

TOKEN_BYTES = 32
SYSTEM = Actor.system("loyalty-member-page")


class MemberLinkInvalid(ApplicationError):
    code = ErrorCode.MEMBER_LINK_INVALID
    http_status = 410


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def member_link_url(*, tenant, token: str, scheme: str = "https", port: str | None = None) -> str:
    """The link on the tenant's primary domain (the request's host is never trusted)."""
    host = tenant.get_primary_domain().domain
    if port and str(port) not in ("80", "443"):
        host = f"{host}:{port}"
    return f"{scheme}://{host}/member/sign-in/{token}/"


@transaction.atomic
def member_link_issue(*, customer_id, actor: Actor, tenant, scheme: str = "https",
                      port: str | None = None) -> tuple[MemberLink, str]:
    """A new one-time sign-in link for the customer; returns it and its URL (the only place the
    token appears: hand it to the member, never log it)."""
    customer = customer_current(customer_id)
    if customer.is_pseudonymized:
        raise ApplicationError("This customer was erased.", code=ErrorCode.MEMBER_LINK_INVALID)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = MemberLink.objects.create(
        customer=customer, token_hash=_hash(token), created_by=actor.label[:255],
        expires_at=timezone.now() + datetime.timedelta(minutes=conf.get("LOYALTY_MEMBER_LINK_MINUTES")))
    audit(actor=actor, action=AuditAction.MEMBER_LINK_ISSUE, resource_type="loyalty_member_link",
          resource_id=link.pk, changes={"customer_id": customer.pk, "expires_at": link.expires_at.isoformat()})
    return link, member_link_url(tenant=tenant, token=token, scheme=scheme, port=port)


def member_link_find(*, token: str) -> MemberLink | None:
    """The unused, unexpired link of ``token`` in this tenant (None otherwise); writes nothing."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    return (MemberLink.objects.filter(token_hash=_hash(token), used_at__isnull=True, expires_at__gt=timezone.now())
            .select_related("customer").first())


@transaction.atomic
def member_link_use(*, token: str) -> int:
    """Spend the link: returns the customer id it signs in (410 ``member_link_invalid`` for an
    unknown, used or expired link, or a customer merged away or erased). Gives the member a
    referral code on first sign-in, so that the page (a read) has one to show."""
    link = member_link_find(token=token)
    if link is not None:
        link = MemberLink.objects.select_for_update().filter(pk=link.pk, used_at__isnull=True).first()
    if link is None:
        raise MemberLinkInvalid("This link is not valid any more: ask for a new one.")
    customer = Customer.objects.filter(pk=link.customer_id).first()
    if customer is None or customer.merged_into_id is not None or customer.is_pseudonymized:
        raise MemberLinkInvalid("This link is not valid any more: ask for a new one.")
    link.used_at = timezone.now()
    link.save(update_fields=["used_at"])
    referral_code_issue(customer_id=customer.pk, actor=SYSTEM)
    return customer.pk


def member_link_request(*, email: str, scheme: str = "https", port: str | None = None) -> None:
    """Someone asks for a link for ``email``: if it is a current member's, e-mail one (a task);
    otherwise nothing. The caller answers the same either way (no way to learn who is a member)."""
    email = (email or "").strip().lower()
    if not email or len(email) > 254:
        return
    customer = Customer.objects.filter(email=email, merged_into__isnull=True, is_pseudonymized=False).first()
    if customer is not None:
        enqueue_on_commit("loyalty.tasks.member_link_email_task", customer_id=customer.pk, scheme=scheme,
                          port=port)


def member_link_email(*, customer_id: int, tenant, scheme: str = "https", port: str | None = None) -> None:
    """Issue a link for the customer and e-mail it to them, in the tenant's language."""
    link, url = member_link_issue(customer_id=customer_id, actor=SYSTEM, tenant=tenant, scheme=scheme, port=port)
    customer = link.customer
    context = {"tenant": tenant, "link": url, "customer": customer,
               "minutes": conf.get("LOYALTY_MEMBER_LINK_MINUTES")}
    with tenant_locale(tenant):
        subject = render_to_string("loyalty/member/link_subject.txt", context).strip()
        body = render_to_string("loyalty/member/link_email.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [customer.email])
