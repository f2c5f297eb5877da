"""How fast do queued e-mails leave, and what does sharing one SMTP connection per chunk buy?

A temporary tenant with N consented people and one e-mail campaign's notifications (queued by
the real bulk enqueue) sends them to a real SMTP listener on loopback (aiosmtpd, as the tests
use), through the real send service (consent, guards, rendering, the row lock, the provider id):

- "fake's raw rate": smtplib alone, one connection, the same number of messages (the ceiling);
- "connection per message": each message opens and closes its own SMTP connection (how every
  send worked before ``engagement.channels.email.connection_reused``);
- "connection per chunk": ``notifications_send_batch`` (what the worker's batch task runs), one
  connection for the chunk.

One process, one thread: multiply by the worker's concurrency for a deployment's rate.
BENCH_ENGAGEMENT_MESSAGES=500 by default.
"""

from __future__ import annotations

import logging
import os
import smtplib
import socket
import time
from email.message import EmailMessage

MESSAGES = int(os.environ.get("BENCH_ENGAGEMENT_MESSAGES", "500"))


class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"


def smtp_listener():
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    return controller, port


def raw_rate(port: int) -> float:
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as client:
        for n in range(MESSAGES):
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = "a@example.com", f"p{n}@example.com", "raw"
            message.set_content("Hola")
            client.send_message(message)
    return MESSAGES / (time.perf_counter() - started)


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp.settings.local")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from cdp import registry
    from cdp.context import Actor
    from customers.models import Consent, Customer
    from engagement.models import Notification
    from engagement.services.notifications import notification_send, notifications_enqueue_bulk, \
        notifications_send_batch
    from engagement.services.templates import message_template_create
    from tenants.services import tenant_provision

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO
    controller, port = smtp_listener()
    settings.DEBUG = False
    settings.CDP_SMTP_URL = f"smtp://127.0.0.1:{port}"
    settings.ENGAGEMENT_ALLOW_PRIVATE_PROVIDER_URLS = True
    call_command("migrate_schemas", "--shared", verbosity=0)
    actor = Actor.system("bench")
    saved_guards = list(registry._quota_guards)
    registry._quota_guards.clear()
    tenant = None
    try:
        tenant = tenant_provision(slug=f"bench-send-{os.getpid()}", name="Bench send", actor=actor)
        print(f"{MESSAGES} e-mails per mode to an SMTP listener on loopback, one process, one thread.", flush=True)
        print(f"{'fake raw rate':>24}: {raw_rate(port):7.0f} messages/s (smtplib, one connection)", flush=True)
        with tenant_context(tenant):
            people = Customer.objects.bulk_create(
                [Customer(email=f"p{n}@example.com", first_name=f"P{n}") for n in range(MESSAGES)])
            Consent.objects.bulk_create([Consent(customer=p, channel="email", purpose="marketing", granted=True,
                                                 source="import", recorded_at=timezone.now())
                                         for p in people])
            template = message_template_create(name="bench", channel="email", subject="Hola {{ first_name }}",
                                               body="Hola {{ first_name }}, {{ unsubscribe_url }}", actor=actor)
            for mode in ("connection per message", "connection per chunk"):
                ids = notifications_enqueue_bulk(customer_ids=[p.pk for p in people], template=template,
                                                 trigger="bench", key=mode)
                started = time.perf_counter()
                if mode == "connection per message":
                    for pk in ids:
                        notification_send(notification_id=pk)
                else:
                    notifications_send_batch(notification_ids=ids)
                rate = len(ids) / (time.perf_counter() - started)
                sent = Notification.objects.filter(pk__in=ids, status="sent").count()
                print(f"{mode:>24}: {rate:7.0f} messages/s ({sent} sent)", flush=True)
    finally:
        registry._quota_guards[:] = saved_guards
        controller.stop()
        connection.set_schema_to_public()
        if tenant is not None:
            tenant.delete(force_drop=True)


if __name__ == "__main__":
    main()
