"""The member page's URLs, mounted at ``member/`` on tenant hosts (cdp/urls/tenant.py)."""

from django.urls import path

from loyalty import views

app_name = "member"

urlpatterns = [
    path("", views.member_home, name="home"),
    path("sign-in/<str:token>/", views.member_sign_in, name="sign_in"),
    path("sign-out/", views.member_sign_out, name="sign_out"),
]
