"""E-mail over SMTP through Django's SMTP backend, at ``CDP_SMTP_URL``.

Each message carries ``List-Unsubscribe`` (the signed one-click link) and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058), which large mailbox providers
require of bulk senders, and a ``Message-ID`` of our own: it is the provider message id we keep.

SMTP answers decide what happens next: 4xx (greylisting, "too many messages", a full mailbox for
now) and a dropped connection are transient; 5xx (no such user, refused) is permanent.
"""

from __future__ import annotations

import contextlib
import contextvars
import smtplib
import socket
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import make_msgid

from cdp.http import address_is_public
from engagement import conf
from engagement.selectors import provider_config
from engagement.channels.base import OutboundMessage, PermanentError, TransientError

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def smtp_connection_options(url: str) -> dict:
    """``smtp://user:password@host:port?starttls=1`` / ``smtps://...`` as the backend's options."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("CDP_SMTP_URL must look like smtp://host:port or smtps://user:password@host:port")
    query = parse_qs(parts.query)
    starttls = query.get("starttls", ["0"])[0].lower() in ("1", "true", "yes")
    return {
        "host": parts.hostname, "port": parts.port or (465 if parts.scheme == "smtps" else 25),
        "username": unquote(parts.username or ""), "password": unquote(parts.password or ""),
        "use_ssl": parts.scheme == "smtps", "use_tls": starttls and parts.scheme == "smtp",
        "timeout": float(conf.get("ENGAGEMENT_SMTP_TIMEOUT")),
    }


def smtp_host_check(url: str) -> None:
    """Refuse (``ValueError``) a relay whose host does not resolve to public addresses only: a
    tenant names its own relay, and must not reach the platform's network through it (loopback
    and private relays only with ENGAGEMENT_ALLOW_PRIVATE_PROVIDER_URLS)."""
    options = smtp_connection_options(url)
    if conf.get("ENGAGEMENT_ALLOW_PRIVATE_PROVIDER_URLS"):
        return
    try:
        infos = socket.getaddrinfo(options["host"], options["port"], type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        infos = []
    if not infos or not all(address_is_public(info[4][0]) for info in infos):
        raise ValueError(f"{options['host']} does not resolve to a public address.")


def connection():
    """The SMTP connection of the tenant's own relay, else ``CDP_SMTP_URL``, else Django's
    configured backend."""
    account = provider_config("smtp")
    url = account["url"]
    if not url:
        return get_connection(fail_silently=False)
    if account["owner"] == "tenant":
        smtp_host_check(url)
    return get_connection(SMTP_BACKEND, fail_silently=False, **smtp_connection_options(url))


def build(message: OutboundMessage) -> EmailMultiAlternatives:
    sender = message.headers.get("From") or provider_config("smtp")["email_from"] or conf.get("ENGAGEMENT_EMAIL_FROM")
    domain = sender.rsplit("@", 1)[-1].strip(">") or "cdp.localhost"
    headers = {"Message-ID": make_msgid(idstring=message.reference or None, domain=domain)}
    if message.unsubscribe_url:
        headers["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return EmailMultiAlternatives(subject=message.subject, body=message.body, from_email=sender, to=[message.to],
                                  headers=headers)


_session: contextvars.ContextVar[dict | None] = contextvars.ContextVar("engagement_smtp_session", default=None)


@contextlib.contextmanager
def connection_reused():
    """Within the block, e-mails share one SMTP connection: opened by the first, closed at the end.
    A batch of sends then pays the TCP/TLS handshake and EHLO/AUTH once instead of per message
    (what a relay also expects of a bulk sender). A connection the server dropped while idle is
    replaced once, for the message that found it closed."""
    holder: dict = {"backend": None}
    token = _session.set(holder)
    try:
        yield
    finally:
        _session.reset(token)
        if holder["backend"] is not None:
            try:
                holder["backend"].close()
            except (smtplib.SMTPException, OSError):
                pass


def _opened():
    backend = connection()
    backend.open()
    return backend


def _deliver(email: EmailMultiAlternatives) -> int:
    holder = _session.get()
    if holder is None:
        return connection().send_messages([email])
    if holder["backend"] is None:
        holder["backend"] = _opened()
    try:
        return holder["backend"].send_messages([email])
    except smtplib.SMTPServerDisconnected:
        holder["backend"].close()
        holder["backend"] = None
        holder["backend"] = _opened()
        return holder["backend"].send_messages([email])


def send(message: OutboundMessage) -> str:
    email = build(message)
    try:
        sent = _deliver(email)
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()), (550, b"refused"))
        raise _by_code(code, text) from None
    except smtplib.SMTPResponseException as exc:
        raise _by_code(exc.smtp_code, exc.smtp_error) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise TransientError(f"SMTP: {type(exc).__name__}: {exc}") from None
    if not sent:
        raise TransientError("SMTP: the message was not accepted.")
    return email.extra_headers["Message-ID"]


def _by_code(code: int, text) -> Exception:
    detail = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    error = TransientError if 400 <= int(code) < 500 else PermanentError
    return error(f"SMTP {code}: {detail}")
