"""Two-factor sign-in (django-otp): enrolling an authenticator app, recovery codes, the second step
after the password, and the tenant's choice to require it of every member.

Who must pass the second step is ``tenants.selectors.two_factor_required``; the gate that sends
them to it is ``tenants.middleware.TwoFactorMiddleware``. A session is verified when django-otp
holds the device that verified it (``django_otp.login``), so verification lasts as long as the
sign-in and a new sign-in asks again.

- TOTP (RFC 6238) through django-otp's ``TOTPDevice``: a code is accepted once (its time step must
  be later than the last one accepted, so a code read over a shoulder cannot be replayed), and
  each wrong code makes the next try wait longer (1, 2, 4... seconds, per device).
- Recovery codes (``tenants.models.RecoveryCodeDevice``): shown once, stored as digests, each
  accepted once.
- Wrong codes also count as failed sign-ins in django-axes (the views send ``user_login_failed``),
  so the same per-account lockout that stops password guessing stops code guessing.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from cdp.context import Actor
from cdp.exceptions import ApplicationError, PermissionDenied
from tenants.codes import AuditAction, ErrorCode
from tenants.models import RecoveryCode, RecoveryCodeDevice, Role, Tenant, User, recovery_code_digest
from tenants.roles import ROLE_RANK, SECURITY
from tenants.selectors import tenant_requires_two_factor, two_factor_devices
from tenants.services.audit import audit_record, changes_between
from tenants.services.authz import actor_authority

# No 0/O, 1/I/L: codes are read off paper. 10 characters of 31 = 49.5 bits each.
RECOVERY_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
RECOVERY_CODE_LENGTH = 10
AUTHENTICATOR_NAME = "Authenticator app"


class TwoFactorCodeInvalid(ApplicationError):
    code = ErrorCode.TWO_FACTOR_CODE_INVALID


def recovery_code_new() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def totp_secret_new() -> str:
    """A new TOTP secret (hex, 20 bytes as RFC 4226 recommends), kept in the session until the
    person proves their app holds it."""
    return secrets.token_hex(20)


def totp_pending_device(*, user: User, key: str) -> TOTPDevice:
    """An unsaved device for the enrolment page (its ``config_url`` is the otpauth:// URI)."""
    return TOTPDevice(user=user, key=key, name=AUTHENTICATOR_NAME, confirmed=False)


def _own(actor: Actor, user: User) -> None:
    if actor.user_id != user.pk:
        raise PermissionDenied(_("Only the person themselves sets up their second factor."))


def _token_digits(token) -> int | None:
    text = "".join(str(token or "").split())
    return int(text) if text.isdigit() and len(text) <= 8 else None


@transaction.atomic
def totp_enrol(*, user: User, key: str, token, actor: Actor, tenant: Tenant | None = None) -> tuple[TOTPDevice, list[str]]:
    """Confirm an authenticator app: ``token`` must be the current code for ``key``. Replaces any
    earlier app of the person and issues a fresh set of recovery codes, returned once (only their
    digests are kept). Audited as ``two_factor.enrol``."""
    _own(actor, user)
    device = totp_pending_device(user=user, key=key)
    try:
        device.full_clean(exclude=["user", "name"])
    except Exception as exc:
        raise TwoFactorCodeInvalid(_("The setup expired. Start again."), fields={"token": [_("Start again.")]}) from exc
    digits = _token_digits(token)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if digits is None or not totp.verify(digits, device.tolerance):
        raise TwoFactorCodeInvalid(_("That code is not right. Check the time on your phone and try again."),
                                   fields={"token": [_("Enter the 6-digit code your app shows now.")]})
    device.last_t = totp.t()  # the code just used cannot be used again to sign in
    device.confirmed = True
    TOTPDevice.objects.filter(user=user).delete()
    device.save()
    codes = _recovery_codes_replace(user)
    audit_record(actor=actor, action=AuditAction.TWO_FACTOR_ENROL, resource_type="user", resource_id=user.pk,
                 tenant=tenant, changes={"device": "totp", "recovery_codes": len(codes)})
    return device, codes


def _recovery_codes_replace(user: User) -> list[str]:
    device, _created = RecoveryCodeDevice.objects.get_or_create(
        user=user, defaults={"name": "Recovery codes", "confirmed": True})
    device.codes.all().delete()
    device.throttle_reset(commit=True)
    codes = [recovery_code_new() for _ in range(settings.CDP_RECOVERY_CODES)]
    RecoveryCode.objects.bulk_create([RecoveryCode(device=device, digest=recovery_code_digest(code)) for code in codes])
    return codes


@transaction.atomic
def recovery_codes_regenerate(*, user: User, actor: Actor, tenant: Tenant | None = None) -> list[str]:
    """A new set of recovery codes (the old ones stop working), returned once. Only for someone
    enrolled. Audited as ``two_factor.recovery_codes``."""
    _own(actor, user)
    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise ApplicationError(_("Set up an authenticator app first."))
    codes = _recovery_codes_replace(user)
    audit_record(actor=actor, action=AuditAction.TWO_FACTOR_RECOVERY_CODES, resource_type="user",
                 resource_id=user.pk, tenant=tenant, changes={"recovery_codes": len(codes)})
    return codes


def two_factor_verify(*, user: User, token, actor: Actor, tenant: Tenant | None = None):
    """The second step: the device that accepts ``token`` (an app's current code, or an unused
    recovery code), audited as ``two_factor.verify``. A wrong, reused or throttled code raises
    ``TwoFactorCodeInvalid`` after recording ``two_factor.failure`` (and the device's throttle):
    those writes are committed, whatever the caller does with the error."""
    text = "".join(str(token or "").split())
    for device in two_factor_devices(user=user):
        if isinstance(device, TOTPDevice) and _token_digits(text) is None:
            continue
        if isinstance(device, RecoveryCodeDevice) and _token_digits(text) is not None:
            continue
        with transaction.atomic():
            # Locked: two requests with one code must not both read the same last time step.
            locked = type(device).objects.select_for_update().get(pk=device.pk)
            if locked.verify_token(text):
                method = "totp" if isinstance(locked, TOTPDevice) else "recovery_code"
                changes = {"method": method}
                if method == "recovery_code":
                    changes["recovery_codes_left"] = locked.remaining()
                audit_record(actor=actor, action=AuditAction.TWO_FACTOR_VERIFY, resource_type="user",
                             resource_id=user.pk, tenant=tenant, changes=changes)
                return locked
    with transaction.atomic():
        audit_record(actor=actor, action=AuditAction.TWO_FACTOR_FAILURE, resource_type="user", resource_id=user.pk,
                     tenant=tenant)
    raise TwoFactorCodeInvalid(_("That code is not right, was already used, or came too soon after a wrong one."),
                               fields={"token": [_("Enter the current code from your app, or a recovery code.")]})


@transaction.atomic
def two_factor_reset(*, user: User, actor: Actor) -> None:
    """Remove a person's second factors (a lost phone and lost codes): operators only. If the
    person must use two-factor sign-in, their next sign-in asks them to enrol again. Audited as
    ``two_factor.reset``."""
    if actor_authority(actor=actor, tenant=None, platform_perm="tenants.change_user").rank < ROLE_RANK[Role.OWNER]:
        raise PermissionDenied(_("Only platform operators reset someone's two-factor sign-in."))
    removed = TOTPDevice.objects.filter(user=user).delete()[0] + RecoveryCodeDevice.objects.filter(user=user).delete()[0]
    audit_record(actor=actor, action=AuditAction.TWO_FACTOR_RESET, resource_type="user", resource_id=user.pk,
                 changes={"devices_removed": removed})


@transaction.atomic
def tenant_two_factor_set(*, tenant: Tenant, required: bool, actor: Actor) -> bool:
    """Require (or stop requiring) two-factor sign-in of every member of ``tenant``. Owners and
    admins turn it on; only owners turn it off (it lowers everyone's protection). Audited as
    ``tenant.two_factor_required`` with the diff."""
    authority = actor_authority(actor=actor, tenant=tenant, platform_perm="tenants.change_tenant")
    if SECURITY not in authority.capabilities or authority.rank < ROLE_RANK[Role.ADMIN]:
        raise PermissionDenied(_("Only the tenant's owners and admins choose whether two-factor sign-in is required."))
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    before = tenant_requires_two_factor(locked)
    required = bool(required)
    if before and not required and authority.rank < ROLE_RANK[Role.OWNER]:
        raise PermissionDenied(_("Only the tenant's owners stop requiring two-factor sign-in."))
    if before != required:
        locked.settings = {**(locked.settings or {}), "require_two_factor": required}
        locked.save(update_fields=["settings", "updated_at"])
        audit_record(actor=actor, action=AuditAction.TENANT_TWO_FACTOR_REQUIRED, resource_type="tenant",
                     resource_id=locked.pk, tenant=locked,
                     changes=changes_between({"require_two_factor": before}, {"require_two_factor": required}))
    tenant.settings = locked.settings
    return required
