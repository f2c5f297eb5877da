"""The sign-in part of ``make run``'s banner (registered with cdp.registry by tenants' AppConfig)."""

from __future__ import annotations

from cdp.secrets import admin_password_path
from tenants import conf


def sign_in_lines() -> list[str]:
    """Who signs in, where the password is, how to get a new one, and that the sites differ."""
    password_file = admin_password_path()
    where = (f"in {password_file}" if password_file.exists()
             else "the one CDP_ADMIN_PASSWORD had when it was created")
    return [
        f"Sign in as {conf.get('CDP_ADMIN_EMAIL')} (operators' admin, and owner of the demo tenant).",
        f"  Password           {where}",
        "  Lost it?           make reset-password   (manage.py reset_password [EMAIL]: a new one, printed once)",
        "  localhost and demo.localhost are separate sites: sign in on each.",
        "  Two-factor sign-in (operators always): the first sign-in shows a QR code; scan it with an",
        "  authenticator app (any TOTP app), enter its 6-digit code and keep the recovery codes it",
        "  shows once. Later sign-ins ask for the app's code after the password.",
    ]
