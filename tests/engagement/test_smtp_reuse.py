"""SMTP connection reuse (issue #16): a chunk of e-mails goes over one connection, and a
connection the server dropped is replaced for the message that found it closed."""

from __future__ import annotations

import socket

from engagement.channels import email as email_channel
from engagement.channels.email import connection_reused
from engagement.services.notifications import notification_send, notifications_enqueue_bulk, \
    notifications_send_batch
from tests.engagement import factories


def test_a_batch_shares_one_connection(in_alpha, smtp):
    # given five consented people and a campaign's chunk of their notifications
    people = [factories.person(consent=("email",), email=f"reuse{n}@example.com") for n in range(5)]
    template = factories.template("email")
    ids = notifications_enqueue_bulk(customer_ids=[p.pk for p in people], template=template, trigger="campaign",
                                     key="c1")

    # when the worker sends the chunk
    outcome = notifications_send_batch(notification_ids=ids)

    # then five e-mails went over a single SMTP session
    assert outcome == {"sent": 5}
    assert len(smtp.messages) == 5 and smtp.sessions == 1


def test_a_dropped_connection_is_replaced_once(in_alpha, smtp):
    people = [factories.person(consent=("email",), email=f"drop{n}@example.com") for n in range(2)]
    template = factories.template("email")
    ids = notifications_enqueue_bulk(customer_ids=[p.pk for p in people], template=template, trigger="campaign",
                                     key="c2")
    with connection_reused():
        assert notification_send(notification_id=ids[0]) == "sent"
        # the server closes the idle connection behind the client's back
        email_channel._session.get()["backend"].connection.sock.shutdown(socket.SHUT_RDWR)
        assert notification_send(notification_id=ids[1]) == "sent"
    assert len(smtp.messages) == 2 and smtp.sessions == 2
