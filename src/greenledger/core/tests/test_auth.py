"""Log-in: Argon2 hashes, lock-out after repeated failures, API tokens scoped to site and purpose."""

from django.urls import reverse

from greenledger.core.models import ApiToken


def test_passwords_are_hashed_with_argon2(django_user_model, settings, db):
    settings.PASSWORD_HASHERS = [h for h in settings.PASSWORD_HASHERS if "MD5" not in h]
    user = django_user_model.objects.create_user("hash-check", password="S3cret-pass!")
    assert user.password.startswith("argon2")


def test_login_page_logs_in(client, django_user_model, db):
    django_user_model.objects.create_user("ok-user", password="S3cret-pass!")
    response = client.post(reverse("login"), {"username": "ok-user", "password": "S3cret-pass!"})
    assert response.status_code == 302


def test_repeated_failed_logins_lock_the_account(client, django_user_model, settings, db):
    django_user_model.objects.create_user("victim", password="S3cret-pass!")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "victim", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "victim", "password": "S3cret-pass!"})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_token_is_stored_hashed_and_shown_once(site, db):
    token, secret = ApiToken.issue(name="东门相机", site=site, purpose="camera")
    assert secret.startswith("glt_")
    stored = ApiToken.objects.get(pk=token.pk)
    assert secret not in (stored.key_hash, stored.key_prefix)
    assert stored.key_hash == ApiToken.hash_key(secret)


def test_bearer_token_authenticates_and_is_scoped_to_its_site(client, site, other_site, db):
    _token, secret = ApiToken.issue(name="终端", site=site, purpose="measures")
    response = client.get("/api/core/equipment", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    codes = {item["code"] for item in response.json()}
    assert codes == {"LW-01"}
    by_tag = client.get("/api/core/equipment?tag=NFC-T-1", HTTP_AUTHORIZATION=f"Bearer {secret}").json()
    assert [item["code"] for item in by_tag] == ["LW-01"]


def test_token_purpose_limits_endpoints(client, site, db):
    _token, secret = ApiToken.issue(name="相机", site=site, purpose="camera")
    response = client.get("/api/core/equipment", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 403
    assert response.json()["errors"][0]["rule"] == "permission"


def test_revoked_token_is_refused(client, site, db):
    token, secret = ApiToken.issue(name="终端", site=site, purpose="measures")
    token.revoke()
    response = client.get("/api/core/me", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 401
    [error] = response.json()["errors"]
    assert error["rule"] == "authentication" and error["field"] == "" and error["message"]


def test_admin_creates_and_revokes_token_in_the_ui(client, site, role_user):
    client.force_login(role_user("system_admin", site))
    response = client.post(reverse("core:token_list"), {"name": "东门相机", "site": site.pk, "purpose": "camera"})
    assert response.status_code == 200
    token = ApiToken.objects.get(name="东门相机")
    secret = response.context["secret"]
    assert secret in response.content.decode() and ApiToken.hash_key(secret) == token.key_hash
    client.post(reverse("core:token_revoke", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is not None
