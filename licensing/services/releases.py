"""Products, releases, ownership (assets) and licensed downloads."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict, NotFound, PermissionDenied, full_clean_or_raise
from licensing.codes import AuditAction, ErrorCode
from licensing.models import Asset, Download, License, Product, Release
from licensing.selectors import license_current, releases_for_tenant
from tenants.models import Tenant
from tenants.services import audit_record, changes_between
from tenants.services.records import record_create, record_update

PRODUCT_EDITABLE = ("name", "description", "is_active")
RELEASE_EDITABLE = ("status", "is_critical", "changelog", "download_url")


def product_create(*, code: str, name: str, actor: Actor, description: str = "") -> Product:
    """A product the platform distributes. Codes are unique slugs."""
    return record_create(Product, fields={"code": (code or "").strip(), "name": (name or "").strip(),
                                          "description": description},
                         actor=actor, action=AuditAction.PRODUCT_CREATE, resource_type="product",
                         message="The product could not be created.")


def product_update(*, product: Product, actor: Actor, **fields) -> Product:
    return record_update(product, fields=fields, editable=PRODUCT_EDITABLE, actor=actor,
                         action=AuditAction.PRODUCT_UPDATE, resource_type="product",
                         message="The product could not be updated.")


def _file_digest(artifact) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    artifact.seek(0)
    for chunk in artifact.chunks() if hasattr(artifact, "chunks") else iter(lambda: artifact.read(65536), b""):
        digest.update(chunk)
        size += len(chunk)
    artifact.seek(0)
    return digest.hexdigest(), size


def release_create(
    *,
    product: Product,
    version: str,
    actor: Actor,
    status: str = Release.Status.DRAFT,
    is_critical: bool = False,
    changelog: str = "",
    artifact: UploadedFile | None = None,
    download_url: str = "",
    sha256: str = "",
) -> Release:
    """A new version of ``product``. With a file, its SHA-256 and size are computed (a given
    ``sha256`` must match); with only an external URL, the SHA-256 must be given."""
    sha256 = (sha256 or "").strip().lower()
    size = 0
    if artifact is not None:
        computed, size = _file_digest(artifact)
        if sha256 and sha256 != computed:
            raise ApplicationError("The file does not match the SHA-256 given.",
                                   fields={"sha256": [f"The file's SHA-256 is {computed}."]})
        sha256 = computed
    release = Release(product=product, version=(version or "").strip(), status=status, is_critical=is_critical,
                      changelog=changelog, download_url=download_url, sha256=sha256, size_bytes=size)
    if artifact is not None:
        release.artifact = artifact
    if status != Release.Status.DRAFT:
        release.published_at = timezone.now()
    if Release.objects.filter(product=product, version=release.version).exists():
        raise Conflict(f"{product.code} {release.version} already exists.", code=ErrorCode.RELEASE_EXISTS,
                       fields={"version": ["Already released."]})
    full_clean_or_raise(release, "The release could not be created.")
    with transaction.atomic():
        release.save()
        audit_record(actor=actor, action=AuditAction.RELEASE_CREATE, resource_type="release", resource_id=release.pk,
                     changes={"product": product.code, "version": release.version, "status": status,
                              "sha256": sha256, "critical": is_critical})
    return release


def release_update(*, release: Release, actor: Actor, **fields) -> Release:
    """Change a release's status (draft → beta → stable → deprecated), critical flag or notes."""
    unknown = set(fields) - set(RELEASE_EDITABLE)
    if unknown:
        raise ApplicationError("Unknown fields.", fields={key: ["Not editable."] for key in sorted(unknown)})
    with transaction.atomic():
        locked = Release.objects.select_for_update().select_related("product").get(pk=release.pk)
        before = {key: getattr(locked, key) for key in fields}
        for key, value in fields.items():
            setattr(locked, key, value)
        if locked.status != Release.Status.DRAFT and locked.published_at is None:
            locked.published_at = timezone.now()
        full_clean_or_raise(locked, "The release could not be updated.")
        changes = changes_between(before, {key: getattr(locked, key) for key in fields})
        if changes:
            locked.save()
            audit_record(actor=actor, action=AuditAction.RELEASE_UPDATE, resource_type="release", resource_id=locked.pk,
                         changes=changes)
    return locked


def asset_grant(*, tenant: Tenant, product: Product, actor: Actor, license: License | None = None) -> Asset:
    """Record that ``tenant`` owns ``product`` (idempotent; re-grants a revoked ownership)."""
    if tenant.is_public:
        raise ApplicationError("Products are owned by tenants.", fields={"tenant": ["Choose a tenant."]})
    if license is not None and license.tenant_id != tenant.pk:
        raise ApplicationError("The license belongs to another tenant.", fields={"license": ["Not this tenant's."]})
    with transaction.atomic():
        asset, created = Asset.objects.select_for_update().get_or_create(
            tenant=tenant, product=product, defaults={"license": license})
        if not created and (asset.revoked_at is not None or asset.license_id != (license and license.pk)):
            asset.revoked_at = None
            asset.license = license
            asset.save(update_fields=["revoked_at", "license", "updated_at"])
        elif not created:
            return asset
        audit_record(actor=actor, action=AuditAction.ASSET_GRANT, resource_type="asset", resource_id=asset.pk,
                     tenant=tenant,
                     changes={"product": product.code, "license": license.key_prefix if license else None})
    return asset


def asset_revoke(*, asset: Asset, actor: Actor) -> Asset:
    with transaction.atomic():
        locked = Asset.objects.select_for_update().select_related("tenant", "product").get(pk=asset.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at", "updated_at"])
            audit_record(actor=actor, action=AuditAction.ASSET_REVOKE, resource_type="asset", resource_id=locked.pk,
                         tenant=locked.tenant, changes={"product": locked.product.code})
    return locked


@dataclass(frozen=True)
class DownloadGrant:
    release: Release
    download: Download


def release_download(*, release_id: int, tenant: Tenant, actor: Actor, user_agent: str = "") -> DownloadGrant:
    """Authorize and log one download of a release by ``tenant``.

    A release the tenant cannot see (a draft, another's product) is not found; owning the product
    without a valid license is ``license_required``."""
    release = releases_for_tenant(tenant=tenant).filter(pk=release_id).first()
    if release is None:
        raise NotFound("No such release.")
    asset = Asset.objects.select_related("license").get(tenant=tenant, product=release.product_id)
    license = asset.license if asset.license_id else license_current(tenant=tenant)
    if license is None or not license.is_usable():
        state = "missing" if license is None else ("expired" if license.is_expired() else license.status)
        raise PermissionDenied(f"Downloading needs a valid license (yours is {state}).",
                               code=ErrorCode.LICENSE_REQUIRED)
    with transaction.atomic():
        download = Download.objects.create(release=release, tenant=tenant, license=license,
                                           actor_label=actor.label[:255], ip_address=actor.ip,
                                           user_agent=(user_agent or "")[:255])
        Release.objects.filter(pk=release.pk).update(download_count=F("download_count") + 1)
        audit_record(actor=actor, action=AuditAction.RELEASE_DOWNLOAD, resource_type="release", resource_id=release.pk,
                     tenant=tenant, changes={"product": release.product.code, "version": release.version})
    return DownloadGrant(release=release, download=download)
