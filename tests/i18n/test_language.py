"""Who chooses the language: the person, else (API) the client's Accept-Language, else the tenant."""

from __future__ import annotations

from django.conf import settings
from django.core import mail
from django.test import Client

from tenants.models import AuditLog
from tests.conftest import PASSWORD


def set_tenant_language(tenant, language: str) -> None:
    """In the database (rolled back with the test), not on the shared world's instance."""
    fresh = type(tenant).objects.get(pk=tenant.pk)
    fresh.settings = {**fresh.settings, "language": language}
    fresh.save(update_fields=["settings"])


def test_the_tenants_language_is_the_default(world, alpha_client):
    # given a tenant whose language is Spanish and a member who chose nothing
    set_tenant_language(world.alpha, "es")
    # when the member opens the dashboard
    page = alpha_client(world.user("alpha_viewer")).get("/").content.decode()
    # then it is in Spanish, and says so
    assert '<html lang="es">' in page and ">Panel<" in page and "Cerrar sesión" in page


def test_a_tenant_language_without_catalog_is_served_in_english(world, alpha_client):
    set_tenant_language(world.alpha, "ru")
    assert '<html lang="en">' in alpha_client(world.user("alpha_viewer")).get("/").content.decode()


def test_a_person_chooses_their_language_in_the_header(world, alpha_client):
    # given a Spanish tenant and a member who reads Portuguese
    set_tenant_language(world.alpha, "es")
    user = world.user("alpha_analyst")
    client = alpha_client(user)
    assert 'action="/settings/language/"' in client.get("/members/").content.decode()
    # when they pick Brazilian Portuguese in the selector
    response = client.post("/settings/language/", {"language": "pt-br", "next": "/members/"})
    # then they are back on the page, now in Portuguese, on every device (stored on the account)
    assert response.status_code == 302 and response["Location"] == "/members/"
    user.refresh_from_db()
    assert user.language == "pt-br"
    page = alpha_client(user).get("/members/").content.decode()
    assert '<html lang="pt-BR">' in page and "Membros" in page
    assert AuditLog.objects.filter(action="user.language", resource_id=str(user.pk)).exists()
    # and choosing "the organization's language" gives the tenant's back
    client.post("/settings/language/", {"language": ""})
    user.refresh_from_db()
    assert user.language == "" and '<html lang="es">' in alpha_client(user).get("/").content.decode()


def test_an_unknown_language_is_refused_and_nothing_changes(world, alpha_client):
    user = world.user("alpha_viewer")
    client = alpha_client(user)
    response = client.post("/settings/language/", {"language": "xx"}, follow=True)
    user.refresh_from_db()
    assert user.language == "" and "Unknown language" in response.content.decode()


def test_the_selector_never_redirects_off_site(world, alpha_client):
    response = alpha_client(world.user("alpha_viewer")).post(
        "/settings/language/", {"language": "es", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_signed_out_the_choice_is_a_cookie(world, alpha_client):
    client = alpha_client()
    response = client.post("/settings/language/", {"language": "es", "next": "/accounts/login/"})
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    page = client.get("/accounts/login/").content.decode()
    assert '<html lang="es">' in page and "Contraseña" in page


def test_api_errors_follow_accept_language(world):
    # given API clients asking for Spanish, Portuguese and nothing in particular, without a key
    clients = [Client(HTTP_HOST="alpha.localhost", HTTP_ACCEPT_LANGUAGE="es-AR,es;q=0.9"),
               Client(HTTP_HOST="alpha.localhost", HTTP_ACCEPT_LANGUAGE="pt-BR"),
               Client(HTTP_HOST="alpha.localhost")]
    # when each asks for the customers
    answers = [client.get("/api/v1/customers/") for client in clients]
    # then the status and code are the same and the message is in the asked language (else the tenant's)
    assert len({a.status_code for a in answers}) == 1 and answers[0].status_code in (401, 403)
    assert len({a.json()["error"]["code"] for a in answers}) == 1
    messages = [a.json()["error"]["message"] for a in answers]
    assert len(set(messages)) == 3, messages
    assert [a["Content-Language"] for a in answers] == ["es", "pt-br", "en"]


def test_api_without_accept_language_speaks_the_tenants_language(world, api_key):
    set_tenant_language(world.alpha, "es")
    client = Client(HTTP_HOST="alpha.localhost", HTTP_AUTHORIZATION=f"Api-Key {api_key(world.alpha)}")
    assert client.get("/api/v1/customers/999999/")["Content-Language"] == "es"


def test_sign_in_ignores_the_case_of_the_email(world, alpha_client):
    client = alpha_client()
    response = client.post("/accounts/login/", {"username": "  Owner@ALPHA.test ", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").context["user"].email == "owner@alpha.test"


def test_the_invitation_e_mail_is_in_the_tenants_language_and_time_zone(world, alpha_client,
                                                                        django_capture_on_commit_callbacks):
    # given a Brazilian tenant
    world.alpha.settings = {**world.alpha.settings, "language": "pt", "timezone": "America/Sao_Paulo"}
    world.alpha.save(update_fields=["settings"])
    # when an owner invites someone
    client = alpha_client(world.user("alpha_owner"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the inviter reads English: the invitee does not
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/members/invite/", {"email": "nova@example.com", "role": "viewer"})
    # then the e-mail is in Portuguese, with the expiry in São Paulo time
    assert response.status_code == 302
    message = mail.outbox[-1]
    assert message.subject == "Você foi convidado para entrar em Alpha Store no CDP"
    assert "O link expira em" in message.body and "America/Sao_Paulo" in message.body
