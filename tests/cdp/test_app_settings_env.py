"""Which environment variables become settings (``cdp.conf.env_app_settings``) beyond the kit's
own test of the prefixes (tests/cdp/test_kit.py)."""

from cdp.conf import env_app_settings


def test_the_credentials_keys_come_from_the_environment_through_settings():
    # integrations.crypto reads CDP_CREDENTIALS_KEYS as a setting, never from os.environ
    environ = {"CDP_CREDENTIALS_KEYS": "new,old", "CDP_DATA_DIR": "/x"}
    assert env_app_settings(environ) == {"CDP_CREDENTIALS_KEYS": "new,old"}
