"""Issue #12, read in code: behind our proxies the client address is the hop they appended, never
the client-written start of ``X-Forwarded-For`` (it feeds rate limits, audit and session IPs)."""

import pytest

from cdp.context import client_ip

SPOOFED = "203.0.113.66"


@pytest.mark.parametrize("hops, forwarded, expected", [
    (0, f"{SPOOFED}, 198.51.100.7", "10.0.0.2"),         # not behind a proxy: the header is ignored
    (1, "198.51.100.7", "198.51.100.7"),                # one proxy, honest client
    (1, f"{SPOOFED}, 198.51.100.7", "198.51.100.7"),    # one proxy, the client wrote its own entry first
    (2, f"{SPOOFED}, 198.51.100.7, 10.0.0.9", "198.51.100.7"),  # CDN then load balancer
    (2, "198.51.100.7", "10.0.0.2"),                    # fewer entries than proxies: not through ours
    (1, "", "10.0.0.2"),
])
def test_the_client_is_the_hop_our_proxies_appended(settings, hops, forwarded, expected):
    settings.CDP_TRUSTED_PROXY_HOPS = hops
    assert client_ip({"HTTP_X_FORWARDED_FOR": forwarded, "REMOTE_ADDR": "10.0.0.2"}) == expected


def test_a_spoofed_forwarded_for_does_not_reach_the_session_record(settings, world):
    from django.test import Client

    from tenants.models import UserSession
    from tests.conftest import PASSWORD

    settings.CDP_TRUSTED_PROXY_HOPS = 1
    client = Client(HTTP_HOST="alpha.localhost")
    response = client.post("/accounts/login/", {"username": "viewer@alpha.test", "password": PASSWORD},
                           HTTP_X_FORWARDED_FOR=f"{SPOOFED}, 198.51.100.7")
    assert response.status_code == 302
    assert UserSession.objects.filter(user=world.user("alpha_viewer")).latest("id").ip_address == "198.51.100.7"
