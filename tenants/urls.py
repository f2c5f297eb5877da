from django.contrib.auth import views as auth_views
from django.urls import path

from tenants import twofactor_views, views

app_name = "portal"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("members/", views.members, name="members"),
    path("members/invite/", views.member_invite, name="member_invite"),
    path("members/<id:pk>/role/", views.member_role, name="member_role"),
    path("members/<id:pk>/remove/", views.member_remove, name="member_remove"),
    path("members/invitations/<id:pk>/revoke/", views.invitation_revoke_view, name="invitation_revoke"),
    path("invitations/<str:token>/", views.invitation_accept_view, name="invitation_accept"),
    path("suspended/", views.suspended_page, name="suspended"),
    path("settings/api-keys/", views.api_keys, name="api_keys"),
    path("settings/api-keys/<id:pk>/revoke/", views.api_key_revoke_view, name="api_key_revoke"),
    path("settings/two-factor/", twofactor_views.tenant_policy, name="two_factor_policy"),
    path("settings/language/", views.language_set, name="language"),
    path("settings/sessions/", views.sessions, name="sessions"),
    path("settings/sessions/revoke-others/", views.sessions_revoke_others, name="sessions_revoke_others"),
    path("settings/sessions/<id:pk>/revoke/", views.session_revoke_view, name="session_revoke"),
    path("settings/sessions/members/", views.member_sessions, name="member_sessions"),
    path("settings/sessions/members/<id:user_id>/revoke-all/", views.member_sessions_revoke_user,
         name="member_sessions_revoke_user"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="portal:login"), name="logout"),
    path("accounts/password-reset/", views.password_reset, name="password_reset"),
    path("accounts/password-reset/sent/", views.password_reset_done, name="password_reset_done"),
    path("accounts/reset/<uidb64>/<token>/", views.password_reset_confirm, name="password_reset_confirm"),
    path("accounts/reset/done/", views.password_reset_complete, name="password_reset_complete"),
]
