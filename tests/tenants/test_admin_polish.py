"""Admin polish: plural names, sessions by browser and system, the revenue page on the admin home."""

from __future__ import annotations

import re

from django.apps import apps

from tenants.useragent import user_agent_label

CHROME_ON_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                     "Chrome/120.0.0.0 Safari/537.36")
SAFARI_ON_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                    "Version/17.1 Mobile/15E148 Safari/604.1")


def test_sessions_show_browser_and_system():
    assert user_agent_label(CHROME_ON_WINDOWS) == "Chrome 120 · Windows 10"
    assert user_agent_label(SAFARI_ON_IPHONE) == "Mobile Safari 17 · iOS 17"
    assert user_agent_label("") == "" and user_agent_label("curl/8.5.0") == "curl 8"
    assert user_agent_label("\x00" + "x" * 80).endswith("…")  # unrecognised: the raw text, cut


def test_no_model_has_a_made_up_plural_or_a_lowercase_acronym():
    for model in apps.get_models():
        plural, name = str(model._meta.verbose_name_plural), str(model._meta.verbose_name)
        assert not re.search(r"[^aeiou]ys$", plural), model  # "deliverys", "dailys"
        assert not any(word in ("mrr", "rfm", "clv", "kpi", "vtex") for word in name.split()), model
    assert str(apps.get_model("integrations", "WebhookDelivery")._meta.verbose_name_plural) == "webhook deliveries"


def test_the_operators_admin_home_links_the_revenue_page(world, public_client, alpha_client):
    home = public_client(world.staff).get("/admin/").content.decode()
    assert 'href="/admin/billing/revenue/"' in home
    # a tenant's admin has no such page
    assert "billing/revenue" not in alpha_client(world.user("alpha_owner")).get("/admin/").content.decode()


def test_the_portal_sessions_page_names_the_browser(world, alpha_client):
    client = alpha_client(world.user("alpha_viewer"))
    client.defaults["HTTP_USER_AGENT"] = CHROME_ON_WINDOWS
    client.get("/")
    assert "Chrome 120 · Windows 10" in client.get("/settings/sessions/").content.decode()
