from rest_framework import serializers

from cdp.ids import MAX_ID
from tenants.models import ApiKey, AuditLog, Invitation, Membership, Role, Tenant, UserSession
from tenants.roles import CAPABILITIES, DEFAULT_KEY_SCOPES


class TenantOutputSerializer(serializers.ModelSerializer):
    domains = serializers.SerializerMethodField()
    usage = serializers.SerializerMethodField()

    class Meta:
        model = Tenant
        fields = ["name", "slug", "type", "status", "settings", "branding", "domains", "usage", "created_at"]

    def get_domains(self, tenant) -> list[str]:
        return [d.domain for d in tenant.domains.order_by("-is_primary", "domain")]

    def get_usage(self, tenant) -> dict:
        return self.context["usage"]


class ApiKeyOutputSerializer(serializers.ModelSerializer):
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "scopes", "is_active", "created_at", "last_used_at", "expires_at",
                  "revoked_at"]


class ApiKeyCreatedOutputSerializer(ApiKeyOutputSerializer):
    key = serializers.CharField(help_text="The full key. Shown once; store it now.")

    class Meta(ApiKeyOutputSerializer.Meta):
        fields = ApiKeyOutputSerializer.Meta.fields + ["key"]


class ApiKeyCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=CAPABILITIES), default=list(DEFAULT_KEY_SCOPES), allow_empty=False
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class MembershipOutputSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email")
    full_name = serializers.CharField(source="user.full_name")

    class Meta:
        model = Membership
        fields = ["id", "email", "full_name", "role", "created_at"]


class MembershipRoleInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationCreateInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=Role.choices, default=Role.VIEWER)


class InvitationOutputSerializer(serializers.ModelSerializer):
    """An invitation. The link (its token) is never returned: it goes to the invited mailbox only."""

    status = serializers.ChoiceField(choices=["pending", "accepted", "revoked", "expired"], read_only=True)

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "status", "invited_by_label", "created_at", "expires_at", "accepted_at",
                  "revoked_at"]


class AuditLogOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditLog
        fields = ["id", "created_at", "actor_label", "action", "resource_type", "resource_id", "changes",
                  "ip_address"]



SESSION_STATUSES = [("active", "Active"), *UserSession.EndReason.choices]


class UserSessionOutputSerializer(serializers.ModelSerializer):
    """A sign-in session. The session key is never exposed, not even hashed."""

    user = serializers.IntegerField(source="user_id", help_text="The member's user id.")
    email = serializers.EmailField(source="user.email")
    status = serializers.ChoiceField(
        choices=SESSION_STATUSES, read_only=True,
        help_text="`active`, or how it ended: `logout`, `revoked`, `expired` (also when idle past the cookie's age).",
    )
    current = serializers.SerializerMethodField(help_text="Whether this is the session making the request.")

    class Meta:
        model = UserSession
        fields = ["id", "user", "email", "ip_address", "last_ip", "user_agent", "created_at", "last_seen_at",
                  "status", "ended_at", "end_reason", "revoked_by", "current"]

    def get_current(self, session) -> bool:
        return session.pk == self.context.get("current_session_id")


class UserSessionsRevokeUserInputSerializer(serializers.Serializer):
    user = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="The member whose sessions to revoke.")


class UserSessionsRevokedOutputSerializer(serializers.Serializer):
    revoked = serializers.IntegerField(help_text="How many open sessions were revoked.")
