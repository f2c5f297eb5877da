"""Factories for licensing. Licenses are issued through the service (that is the only way to
learn a key), so ``LicenseFactory`` returns the model with its clear key in ``.key``."""

from __future__ import annotations

import hashlib

import factory

from cdp.context import Actor
from licensing.models import Asset, License, Machine, Product, Release

ACTOR = Actor.system("tests")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"product-{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").title())


class ReleaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Release

    product = factory.SubFactory(ProductFactory)
    version = factory.Sequence(lambda n: f"1.{n}.0")
    status = Release.Status.STABLE
    download_url = factory.LazyAttribute(lambda o: f"https://downloads.example.com/{o.product.code}/{o.version}.zip")
    sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.version.encode()).hexdigest())

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        release = model_class(*args, **kwargs)
        release.full_clean()  # fills major/minor/patch from the version
        release.save()
        return release


class LicenseFactory(factory.Factory):
    """``LicenseFactory(tenant=world.alpha, plan_code="starter")`` -> License with ``.key``."""

    class Meta:
        model = License

    plan_code = "starter"
    status = License.Status.ACTIVE
    max_machines = None
    expires_at = None
    custom_limits = None

    @classmethod
    def _create(cls, model_class, *, tenant, plan_code, **kwargs):
        from licensing.services import license_issue

        issued = license_issue(tenant=tenant, plan_code=plan_code, actor=ACTOR, **kwargs)
        issued.license.key = issued.key
        return issued.license


class MachineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Machine

    fingerprint = factory.Sequence(lambda n: f"machine-{n:04d}")
    first_ip = "10.0.0.1"
    last_ip = "10.0.0.1"


class AssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Asset

    product = factory.SubFactory(ProductFactory)
