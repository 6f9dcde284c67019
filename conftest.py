"""Test set-up shared by every app: isolated data directory, service checks, role users."""

import os
import shutil
import socket

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright sync API in browser tests
IN_CI = os.environ.get("CI", "").lower() == "true"


def service_or_skip(host, port, what):
    """Skip when a local service is unreachable — but fail in CI, where it must be there."""
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        message = f"{what} is not reachable on {host}:{port}"
        if IN_CI:
            pytest.fail(message + " (CI=true: services are required)")
        pytest.skip(message)


@pytest.fixture(autouse=True)
def isolated_files(settings, tmp_path_factory):
    """Uploaded files, spooled work and the evidence signing key go to a per-session temporary directory."""
    base = tmp_path_factory.getbasetemp()
    settings.MEDIA_ROOT = base / "media"
    settings.GREENLEDGER_SPOOL_DIR = base / "spool"
    settings.GREENLEDGER_EVIDENCE_KEY = base / "keys" / "evidence-ed25519.pem"
    # Argon2 is deliberately slow; tests that check hashing restore the production list.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]


@pytest.fixture(autouse=True)
def fresh_content_types():
    """A transactional test's flush re-creates content types under new ids: never reuse cached old ones."""
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()


@pytest.fixture
def english(settings):
    """Messages in English for tests that check wording (the UI defaults to Chinese)."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def role_user(db, django_user_model):
    """Factory: a user in the given role, attached to the demo-like site passed in."""
    from django.contrib.auth.models import Group

    from greenledger.core.models import Person

    def make(role, site=None, username=None):
        user = django_user_model.objects.create_user(username=username or f"u-{role}", password="x-Pass-1234")
        user.groups.add(Group.objects.get(name=role))
        person = Person.objects.create(user=user, name=f"{role} person")
        if site is not None:
            person.sites.add(site)
        return user

    return make


@pytest.fixture
def site(db):
    from greenledger.core.models import Enterprise, Equipment, Site, Workshop

    enterprise = Enterprise.objects.create(name="测试企业")
    site = Site.objects.create(enterprise=enterprise, code="test-site", name="测试工厂", industry="lithium")
    workshop = Workshop.objects.create(site=site, code="assembly", name="电芯封装")
    Equipment.objects.create(workshop=workshop, code="LW-01", name="激光焊接机", tag_id="NFC-T-1")
    return site


@pytest.fixture
def other_site(db):
    from greenledger.core.models import Enterprise, Equipment, Site, Workshop

    enterprise = Enterprise.objects.create(name="其他企业")
    site = Site.objects.create(enterprise=enterprise, code="other-site", name="其他工厂")
    workshop = Workshop.objects.create(site=site, code="w", name="车间")
    Equipment.objects.create(workshop=workshop, code="X-01", name="其他设备", tag_id="NFC-O-1")
    return site


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def browser():
    """Debian's chromium driven by Playwright (never a downloaded browser)."""
    if not shutil.which(CHROMIUM):
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing (CI=true: install Debian's chromium)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


def restore_roles():
    """Transactional tests flush the database, and with it what the migrations seeded: the role
    groups, the emission factor library and the default gate rule sets. Put them back (each seed is
    safe to repeat), so a later test does not depend on running before the first flush."""
    import importlib

    from django.apps import apps

    from greenledger.core.roles import app_role_permissions, ensure_permissions, sync_roles

    granted = app_role_permissions()
    ensure_permissions("auth", "core", "evidence", *{label for label, _perms in granted})
    sync_roles(apps)
    for _label, perms in granted:
        sync_roles(apps, perms)
    for module, function in (("greenledger.carbon.migrations.0002_seed_factors", "seed"),
                             ("greenledger.carbon.migrations.0004_steam_factor", "add_steam_factor")):
        getattr(importlib.import_module(module), function)(apps, None)
    from greenledger.gate.rulesets import load_defaults

    load_defaults()
