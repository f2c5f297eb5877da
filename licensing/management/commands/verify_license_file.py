"""Verify an offline license file the way a client does: with the public key only.

    python manage.py verify_license_file license.json [--public-key key.pem]

A client without Django does the same in a few lines (``cryptography``):

    doc = json.load(open(path))
    Ed25519PublicKey (load_pem_public_key(pem)).verify(base64.b64decode(doc["signature"]),
                                                       doc["payload"].encode())
    payload = json.loads(base64.b64decode(doc["payload"]))   # then check payload["expires_at"]
"""

import json
from pathlib import Path

from django.core.management.base import CommandError

from cdp.commands import CdpCommand
from cdp.exceptions import ApplicationError
from licensing.services import license_file_verify


class Command(CdpCommand):
    help = "Verify a signed offline license file (signature and expiry) and print its content."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--public-key", help="PEM file of the public key (default: this server's).")

    def handle(self, *args, file, public_key, **options):
        try:
            content = Path(file).read_bytes()
            pem = Path(public_key).read_text() if public_key else None
        except OSError as exc:
            raise CommandError(f"Cannot read {exc.filename}: {exc.strerror}.") from exc
        try:
            payload = license_file_verify(content=content, public_key_pem=pem)
        except ApplicationError as exc:
            raise CommandError(f"INVALID ({exc.code}): {exc.message}") from exc
        except ValueError as exc:
            raise CommandError(f"INVALID: the public key could not be read ({exc}).") from exc
        lic = payload["license"]
        self.stdout.write(json.dumps(payload, indent=2))
        self.stdout.write(self.style.SUCCESS(
            f"VALID: {lic['plan']} license {lic['key_prefix']}… for {payload['tenant']}, "
            f"file valid until {payload['expires_at']}."))
