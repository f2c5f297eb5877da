"""``manage.py reset_password [EMAIL]``: a lost password on a development machine.

Gives the account (default: the bootstrap superuser, CDP_ADMIN_EMAIL) a new random
password, signs out its sessions, writes the password to ``$CDP_DATA_DIR/secrets/admin-password``
(mode 0600) when it is the bootstrap superuser's, and prints it once. ``make reset-password``
runs it. In production, people reset their password from the sign-in page's e-mail link."""

from __future__ import annotations

import secrets

from cdp.commands import CdpCommand
from cdp.context import Actor
from cdp.secrets import admin_password_path, local_secret_write
from tenants import conf
from tenants.services.passwords import user_password_reset


class Command(CdpCommand):
    help = "Give an account a new random password (default: the bootstrap superuser) and print it once."

    def add_arguments(self, parser):
        parser.add_argument("email", nargs="?", default=None, help="Default: CDP_ADMIN_EMAIL.")

    def handle(self, *args, email, **options):
        admin_email = conf.get("CDP_ADMIN_EMAIL").lower()
        password = secrets.token_urlsafe(12)
        user = user_password_reset(email=email or admin_email, password=password,
                                   actor=Actor.system("command:reset_password"))
        if user.email == admin_email:
            path = local_secret_write(admin_password_path().name, password)
            self.stderr.write(f"New password for {user.email} (also in {path}); its sessions are signed out:")
        else:
            self.stderr.write(f"New password for {user.email}; its sessions are signed out. It is shown once:")
        self.stdout.write(password)
