"""The console in English, German or French (tenancy/language.py): the saved preference,
then the language cookie, then Accept-Language, then English; the API always English."""

from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import translation

from tenancy.actions import do_set_language
from tenancy.models import UserPreference
from tenancy.onboarding import invitation_message, send_invitation
from tests.personas import api_as

LANGUAGE_URL = "/console/language/"


def test_language_accept_language_de_answers_german(client, db):
    # Anonymous, our own template and message: a refused invitation link.
    response = client.get("/invitation/alpha/MQ/nope/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    assert response.status_code == 400
    assert "Dieser Einladungslink kann nicht verwendet werden" in response.content.decode()
    assert "Dieser Einladungslink ist ungültig" in response.content.decode()
    assert response["Content-Language"] == "de"
    assert "Accept-Language" in response["Vary"]


def test_language_without_accept_language_is_english(client, db):
    response = client.get("/invitation/alpha/MQ/nope/")
    assert "This invitation link cannot be used" in response.content.decode()
    assert response["Content-Language"] == "en"


def test_language_unoffered_accept_language_falls_back_to_english(client, db):
    response = client.get("/invitation/alpha/MQ/nope/", HTTP_ACCEPT_LANGUAGE="ja,it;q=0.8")
    assert "This invitation link cannot be used" in response.content.decode()


def test_language_login_page_in_german(client, db):
    body = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Willkommen zurück bei" in body  # unfold's, from our catalog
    assert "Benutzername" in body and "Passwort" in body and "Anmelden" in body  # Django's
    assert 'lang="de"' in body and "Welcome back" not in body


def test_language_account_menu_posts_to_the_language_form(client, alpha_owner):
    client.force_login(alpha_owner)
    body = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert f'action="{LANGUAGE_URL}"' in body and 'value="de"' in body
    assert "Déconnexion" in body


def test_language_saved_preference_beats_accept_language(client, alpha_owner):
    do_set_language(alpha_owner, "fr")
    client.force_login(alpha_owner)
    body = client.get(LANGUAGE_URL, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Langue de la console" in body and "Sprache der Konsole" not in body


def test_language_saved_preference_beats_the_cookie(client, alpha_owner):
    do_set_language(alpha_owner, "de")
    client.force_login(alpha_owner)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    body = client.get(LANGUAGE_URL).content.decode()
    assert "Sprache der Konsole" in body


def test_language_cookie_beats_accept_language(client, db):
    assert client.post(LANGUAGE_URL, {"language": "fr"}).status_code == 302
    body = client.get(LANGUAGE_URL, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Langue de la console" in body


def test_language_form_post_saves_preference_sets_cookie_and_redirects(client, alpha_owner):
    client.force_login(alpha_owner)
    response = client.post(LANGUAGE_URL, {"language": "de", "next": "/admin/"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert UserPreference.objects.get(user=alpha_owner).language == "de"
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "de" and cookie["httponly"] and cookie["samesite"] == "Lax"
    # The next page, with a browser asking for French, is German.
    body = client.get(LANGUAGE_URL, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Sprache der Konsole" in body


def test_language_form_refuses_unknown_code_with_400_and_writes_nothing(client, alpha_owner):
    client.force_login(alpha_owner)
    response = client.post(LANGUAGE_URL, {"language": "xx"})
    assert response.status_code == 400
    assert response.context["error"] == "Unknown language 'xx': choose one of en, de, fr."
    assert b'id="language-error"' in response.content
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert not UserPreference.objects.filter(user=alpha_owner).exists()
    assert client.post(LANGUAGE_URL, {}).status_code == 400  # no language at all


def test_language_form_get_shows_the_form_and_writes_nothing(client, alpha_owner):
    client.force_login(alpha_owner)
    response = client.get(LANGUAGE_URL, {"language": "de"})
    assert response.status_code == 200 and b'name="language" value="fr"' in response.content
    assert not UserPreference.objects.filter(user=alpha_owner).exists()
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_language_form_ignores_an_offsite_next(client, db):
    response = client.post(LANGUAGE_URL, {"language": "fr", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_language_anonymous_post_sets_only_the_cookie(client, db):
    response = client.post(LANGUAGE_URL, {"language": "de"})
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    assert not UserPreference.objects.exists()


def test_language_of_one_user_is_not_another_users(client, alpha_owner, beta_owner):
    do_set_language(alpha_owner, "fr")
    client.force_login(beta_owner)
    body = client.get(LANGUAGE_URL, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Sprache der Konsole" in body


def test_language_api_stays_english_with_accept_language_de(api, alpha_owner, tenant_alpha):
    refused = api.get("/api/v1/settings/", HTTP_ACCEPT_LANGUAGE="de")
    assert refused.status_code in (401, 403)
    assert refused.json()["error"]["message"] == "Authentication credentials were not provided."
    assert refused["Content-Language"] == "en"
    assert "Accept-Language" not in refused.get("Vary", "")
    do_set_language(alpha_owner, "fr")  # a saved preference does not apply either
    client = api_as(alpha_owner, tenant_alpha)
    invalid = client.post("/api/v1/settings/", {}, format="json", HTTP_ACCEPT_LANGUAGE="de")
    assert invalid.status_code == 400
    assert "This field is required." in str(invalid.json())


def test_language_console_json_errors_follow_the_console_language(client, member_of_both):
    client.force_login(member_of_both)  # no tenant chosen yet
    response = client.post("/console/passkeys/options/", HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 400
    assert "Wählen Sie zuerst einen Mandanten" in response.json()["error"]["message"]


def test_language_invitation_email_in_the_active_language(alpha_owner, tenant_alpha):
    with translation.override("de"):
        subject, body = invitation_message(alpha_owner, tenant_alpha)
    assert subject.startswith("Sie sind Inhaber von") and "Guten Tag," in body


def test_language_invitation_email_in_the_owners_saved_language(alpha_owner, tenant_alpha):
    alpha_owner.email = "alice@alpha.example"
    alpha_owner.save(update_fields=["email"])
    do_set_language(alpha_owner, "fr")
    with translation.override("de"):  # the operator works in German
        assert send_invitation(alpha_owner.pk, tenant_alpha.pk)
    assert mail.outbox[-1].subject.startswith("Vous êtes propriétaire de")
    assert "Connectez-vous avec votre mot de passe habituel" in mail.outbox[-1].body


def test_language_admin_shows_translated_model_names(client, alpha_owner):
    client.force_login(alpha_owner)
    do_set_language(alpha_owner, "de")
    body = client.get(reverse("admin:index")).content.decode()
    assert "Mandanteneinstellungen" in body  # our verbose_name_plural
    assert "Website-Verwaltung" in body or "Abmelden" in body  # Django's own catalog


def test_language_javascript_catalog_serves_the_passkey_messages(client, db):
    response = client.get(reverse("console-jsi18n"), HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200
    assert "Ce navigateur ne prend pas en charge les cl" in response.content.decode()
