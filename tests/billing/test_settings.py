"""Licensing and billing settings: one precedence (a setting, else the default), and the
environment of ``make run`` reaches them only through the settings module."""

from __future__ import annotations

import hashlib
import hmac
import json

from billing import conf as billing_conf
from cdp.conf import env_app_settings
from licensing import conf as licensing_conf

NAMES = ("CDP_LICENSE_CACHE_SECONDS", "CDP_LICENSE_RATE_PER_IP", "BILLING_DUNNING_RETRY_DAYS", "CDP_STRIPE_SECRET_KEY",
         "CDP_BILLING_CALLBACK_SECRET", "CDP_STRIPE_BASE_URL")


def test_without_settings_the_defaults_hold(settings):
    for name in NAMES:
        if hasattr(settings, name):
            delattr(settings, name)
    assert licensing_conf.get("CDP_LICENSE_CACHE_SECONDS") == 30
    assert licensing_conf.rate("CDP_LICENSE_RATE_PER_IP") == (600, 60)
    assert billing_conf.get("BILLING_DUNNING_RETRY_DAYS") == (1, 3, 5)
    assert billing_conf.get("CDP_STRIPE_BASE_URL") == "https://api.stripe.com"
    assert billing_conf.stripe_secret_key() == ""


def test_environment_variables_reach_the_apps_as_settings_with_their_types(world, settings, public_client):
    # given what `make run` exports, copied into settings as cdp/settings/base.py does at start-up
    environ = {"CDP_LICENSE_CACHE_SECONDS": "9", "CDP_LICENSE_RATE_PER_IP": "5/sec", "BILLING_DUNNING_RETRY_DAYS": "2,4",
               "CDP_STRIPE_SECRET_KEY": "sk_env", "CDP_BILLING_CALLBACK_SECRET": "cb-secret", "HOME": "/root"}
    for name, value in env_app_settings(environ).items():
        setattr(settings, name, value)
    # then each app reads them typed like its defaults
    assert licensing_conf.get("CDP_LICENSE_CACHE_SECONDS") == 9
    assert licensing_conf.rate("CDP_LICENSE_RATE_PER_IP") == (5, 1)
    assert billing_conf.get("BILLING_DUNNING_RETRY_DAYS") == (2, 4)
    assert billing_conf.stripe_secret_key() == "sk_env"
    # and the callback endpoint checks signatures with the configured secret (formerly os.environ)
    body = json.dumps({"id": "evt_conf", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_x"}}})
    signature = hmac.new(b"cb-secret", body.encode(), hashlib.sha256).hexdigest()
    response = public_client().post("/api/v1/billing/callbacks/sandbox/", body, content_type="application/json",
                                    HTTP_X_CDP_SIGNATURE=signature)
    assert response.status_code == 200 and response.json() == {"result": "ignored"}
