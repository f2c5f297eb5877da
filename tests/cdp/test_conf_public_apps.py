"""``cdp.conf``: the variables of the public-schema apps that reach settings from the environment."""

from cdp.conf import env_app_settings


def test_bootstrap_admin_and_billing_callback_variables_become_settings():
    environ = {"CDP_ADMIN_EMAIL": "ops@example.com", "CDP_ADMIN_PASSWORD": "pw", "CDP_BILLING_CALLBACK_SECRET": "s",
               "CDP_STRIPE_SECRET_KEY": "sk", "CDP_DATA_DIR": "/x", "CDP_LOG_LEVEL": "INFO"}
    assert env_app_settings(environ) == {"CDP_ADMIN_EMAIL": "ops@example.com", "CDP_ADMIN_PASSWORD": "pw",
                                         "CDP_BILLING_CALLBACK_SECRET": "s", "CDP_STRIPE_SECRET_KEY": "sk"}
