import django_filters
from django.db.models import Q

from cdp.filters import IdFilter, IsoDateTimeFilter

from tenants.models import ApiKey, AuditLog, Invitation, Membership, Role, UserSession


class ApiKeyFilter(django_filters.FilterSet):
    active = django_filters.BooleanFilter(field_name="revoked_at", lookup_expr="isnull", label="Not revoked")
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = ApiKey
        fields = ["active", "name", "prefix"]


class MembershipFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=Role.choices)
    email = django_filters.CharFilter(field_name="user__email", lookup_expr="icontains")

    class Meta:
        model = Membership
        fields = ["role", "email"]


class InvitationFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=Role.choices)
    email = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Invitation
        fields = ["role", "email"]


class AuditLogFilter(django_filters.FilterSet):
    action = django_filters.CharFilter(lookup_expr="istartswith")
    resource_type = django_filters.CharFilter()
    resource_id = django_filters.CharFilter()
    actor = django_filters.CharFilter(field_name="actor_label", lookup_expr="icontains")
    since = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditLog
        fields = ["action", "resource_type", "resource_id", "actor", "since", "until"]


class UserSessionFilter(django_filters.FilterSet):
    """Shared by the sessions API and the portal's session lists."""

    active = django_filters.BooleanFilter(method="filter_active", label="Active")
    user = IdFilter(field_name="user_id", label="User id")
    email = django_filters.CharFilter(field_name="user__email", lookup_expr="icontains", label="Email")
    ip = django_filters.CharFilter(method="filter_ip", label="IP address", max_length=45)

    class Meta:
        model = UserSession
        fields = ["active", "user", "email", "ip"]

    def filter_active(self, queryset, name, value):
        return queryset.active() if value else queryset.inactive()

    def filter_ip(self, queryset, name, value):
        # Text match on the sign-in or the last address (PostgreSQL compares HOST(inet)).
        return queryset.filter(Q(ip_address__icontains=value) | Q(last_ip__icontains=value))


class OwnSessionFilter(UserSessionFilter):
    """A person's own list: only the active switch makes sense there."""

    class Meta(UserSessionFilter.Meta):
        fields = ["active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("user", "email", "ip"):
            self.filters.pop(name, None)
