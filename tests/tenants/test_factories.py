"""The tenants factories make rows as the services would: keys that authenticate, members with
their role, invitations that are open, sessions that are active."""

from __future__ import annotations

from tenants.models import AuditLog, Invitation, UserSession
from tests.conftest import api_client
from tests.tenants.factories import (
    ApiKeyFactory,
    AuditLogFactory,
    FeatureFlagFactory,
    InvitationFactory,
    MembershipFactory,
    SystemConfigFactory,
    UserFactory,
    UserSessionFactory,
)


def test_public_schema_rows_from_factories_are_what_the_services_write(world):
    key = ApiKeyFactory(tenant=world.alpha, scopes=["read"])
    assert api_client("alpha.localhost", key.key).get("/api/v1/tenant/").status_code == 200
    member = MembershipFactory(tenant=world.alpha, role="analyst")
    assert member.user.check_password("Correct-Horse-42") and member.role == "analyst"
    assert UserFactory(is_staff=True).is_staff
    invitation = InvitationFactory(tenant=world.alpha, role="viewer")
    assert Invitation.objects.pending().filter(pk=invitation.pk).exists()
    assert FeatureFlagFactory(tenants=[world.alpha]).tenants.get() == world.alpha
    assert SystemConfigFactory(value={"on": True}).value == {"on": True}
    assert AuditLogFactory(tenant=world.alpha).resource_id == str(world.alpha.pk)
    assert AuditLog.objects.filter(action="api_key.create", resource_id=str(key.pk)).exists()
    session = UserSessionFactory(user=member.user, tenant=world.alpha)
    assert UserSession.objects.active().filter(pk=session.pk).exists()
