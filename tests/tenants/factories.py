"""Factories for the tenants app (public schema): users, memberships, API keys, invitations, host
names, feature flags, system settings, audit entries and sign-in sessions.

Rows a service must write to be real (a key's hash, an invitation's token, a membership under the
last-owner rule) are made through that service, so a test holds what production would; the others
are written directly, for tests about reading, listing and administering them. Tenants themselves
come from the session-wide ``world`` (``world.alpha``, ``world.beta``): a new tenant is a new
schema, so ``TenantFactory`` is for the few tests about provisioning.
"""

from __future__ import annotations

import itertools

import factory
from django.utils import timezone

from cdp.context import Actor
from tenants.models import ApiKey, AuditLog, Domain, FeatureFlag, Invitation, Membership, Role, SystemConfig, Tenant
from tenants.models import User, UserSession, session_key_hash
from tenants.services import (
    api_key_create,
    domain_create,
    feature_flag_create,
    invitation_create,
    membership_set,
    system_config_create,
    tenant_provision,
    user_create,
)

ACTOR = Actor.system("tests")
PASSWORD = "Correct-Horse-42"
_session_keys = itertools.count(1)


class ServiceFactory(factory.Factory):
    """A factory whose rows are made by the service named in ``_service`` (called with the
    declarations as keywords and ``actor=ACTOR``), never built unsaved."""

    class Meta:
        abstract = True

    _service = None

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        raise NotImplementedError("made through a service: use create()")

    @classmethod
    def _create(cls, model_class, **kwargs):
        return cls._service(actor=ACTOR, **kwargs)


class TenantFactory(ServiceFactory):
    """A new tenant with its schema (slow: only for tests about provisioning)."""

    class Meta:
        model = Tenant

    slug = factory.Sequence(lambda n: f"factory{n}")
    name = factory.LazyAttribute(lambda o: f"Factory {o.slug}")

    _service = staticmethod(tenant_provision)


class UserFactory(ServiceFactory):
    """A user with the tests' password (``UserFactory(email=..., is_staff=True)``)."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@factory.test")
    password = PASSWORD
    full_name = factory.Faker("name")

    _service = staticmethod(user_create)


class MembershipFactory(ServiceFactory):
    """``MembershipFactory(tenant=world.alpha, role="admin")``: a new user who is a member."""

    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    role = Role.VIEWER

    _service = staticmethod(membership_set)


class ApiKeyFactory(ServiceFactory):
    """``ApiKeyFactory(tenant=world.alpha, scopes=["read"])`` -> the ApiKey, its secret in ``.key``
    (shown once by the service, stored nowhere)."""

    class Meta:
        model = ApiKey

    name = factory.Sequence(lambda n: f"factory key {n}")
    scopes = ("read", "write")

    @classmethod
    def _create(cls, model_class, **kwargs):
        kwargs["scopes"] = list(kwargs["scopes"])
        issued = api_key_create(actor=ACTOR, **kwargs)
        issued.api_key.key = issued.key
        return issued.api_key


class InvitationFactory(ServiceFactory):
    """An open invitation (its e-mail goes out after commit, as in production)."""

    class Meta:
        model = Invitation

    email = factory.Sequence(lambda n: f"invitee{n}@factory.test")
    role = Role.VIEWER

    _service = staticmethod(invitation_create)


class DomainFactory(ServiceFactory):
    class Meta:
        model = Domain

    domain = factory.Sequence(lambda n: f"host{n}.factory.example")
    is_primary = False

    _service = staticmethod(domain_create)


class FeatureFlagFactory(ServiceFactory):
    class Meta:
        model = FeatureFlag

    key = factory.Sequence(lambda n: f"flag-{n}")
    enabled = True

    _service = staticmethod(feature_flag_create)


class SystemConfigFactory(ServiceFactory):
    class Meta:
        model = SystemConfig

    key = factory.Sequence(lambda n: f"setting-{n}")
    value = factory.LazyFunction(dict)

    _service = staticmethod(system_config_create)


class AuditLogFactory(factory.django.DjangoModelFactory):
    """An audit entry as a service would append it (for tests about reading the trail)."""

    class Meta:
        model = AuditLog

    actor_label = "system:tests"
    action = "tenant.update"
    resource_type = "tenant"
    resource_id = factory.LazyAttribute(lambda o: str(o.tenant.pk) if o.tenant else "")
    changes = factory.LazyFunction(dict)


class UserSessionFactory(factory.django.DjangoModelFactory):
    """A sign-in session row (``session_key`` is the Django session key it stands for)."""

    class Meta:
        model = UserSession
        exclude = ("session_key",)

    user = factory.SubFactory(UserFactory)
    session_key = factory.LazyFunction(lambda: f"factory-session-{next(_session_keys)}")
    key_hash = factory.LazyAttribute(lambda o: session_key_hash(o.session_key))
    ip_address = "203.0.113.7"
    user_agent = "factory"
    created_at = factory.LazyFunction(timezone.now)
    last_seen_at = factory.LazyAttribute(lambda o: o.created_at)
