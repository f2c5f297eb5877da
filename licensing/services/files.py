"""Offline license files: signed JSON a client verifies with the public key alone.

The file is ``{"format", "alg", "payload", "signature"}`` where ``payload`` is base64 of the
license JSON and ``signature`` is the Ed25519 signature (base64) of the ``payload`` string's
ASCII bytes, so no JSON canonicalization is needed to verify it.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json

from django.db import transaction
from django.utils import timezone

from cdp.context import Actor
from cdp.exceptions import ApplicationError
from licensing import conf, signing
from licensing.codes import AuditAction, ErrorCode
from licensing.models import License
from tenants.services import audit_record

FORMAT = "cdp-license-file/1"


def license_file_issue(*, license: License, actor: Actor, days: int | None = None,
                       fingerprint: str | None = None) -> str:
    """A signed file valid for ``days`` (default CDP_LICENSE_FILE_DAYS), never past the license's expiry."""
    if not license.is_usable():
        raise ApplicationError(f"A {license.status} or expired license cannot be exported.",
                               code=ErrorCode.LICENSE_INACTIVE)
    days = days or conf.get("CDP_LICENSE_FILE_DAYS")
    if days < 1:
        raise ApplicationError("A file is valid for at least one day.", fields={"days": ["At least 1."]})
    now = timezone.now().replace(microsecond=0)
    expires = now + datetime.timedelta(days=days)
    if license.expires_at is not None:
        expires = min(expires, license.expires_at)
    payload = {
        "license": {
            "key_prefix": license.key_prefix,
            "status": license.status,
            "plan": license.plan.code,
            "expires_at": license.expires_at.isoformat() if license.expires_at else None,
            "max_machines": license.max_machines,
            "entitlements": {"features": license.features(), "limits": license.limits()},
        },
        "tenant": license.tenant.slug,
        "fingerprint": fingerprint,
        "issued_at": now.isoformat(),
        "expires_at": expires.isoformat(),
    }
    encoded = base64.b64encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()).decode()
    document = {"format": FORMAT, "alg": "ed25519", "payload": encoded, "signature": signing.sign(encoded.encode())}
    with transaction.atomic():
        audit_record(actor=actor, action=AuditAction.LICENSE_FILE_ISSUE, resource_type="license",
                     resource_id=license.pk,
                     tenant=license.tenant, changes={"expires_at": expires, "fingerprint": fingerprint})
    return json.dumps(document, indent=2) + "\n"


def license_file_verify(*, content: str | bytes, public_key_pem: str | None = None,
                        now: datetime.datetime | None = None) -> dict:
    """The payload of a genuine, unexpired file; raises ApplicationError (``malformed``,
    ``bad_signature``, ``file_expired``) otherwise. Needs nothing but the public key."""
    try:
        document = json.loads(content)
        encoded = document["payload"]
        signature = document["signature"]
        if document.get("format") != FORMAT or document.get("alg") != "ed25519":
            raise ValueError("unknown format")
    except (ValueError, TypeError, KeyError) as exc:
        raise ApplicationError("Not a CDP license file.", code=ErrorCode.FILE_MALFORMED) from exc
    public = signing.load_public_key(public_key_pem) if public_key_pem else None
    if not signing.verify(str(encoded).encode(), str(signature), public=public):
        raise ApplicationError("The signature does not match: the file was altered or signed by someone else.",
                               code=ErrorCode.FILE_SIGNATURE_INVALID)
    try:
        payload = json.loads(base64.b64decode(encoded, validate=True))
        expires = datetime.datetime.fromisoformat(payload["expires_at"])
    except (ValueError, KeyError, binascii.Error) as exc:
        raise ApplicationError("The license file's content is unreadable.", code=ErrorCode.FILE_MALFORMED) from exc
    if expires <= (now or timezone.now()):
        raise ApplicationError(f"The license file expired on {expires.isoformat()}.", code=ErrorCode.FILE_EXPIRED)
    return payload
