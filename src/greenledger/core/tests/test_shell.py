"""UI shell: Chinese by default with English available, offline assets, API schema and docs."""

import hashlib
import json
from pathlib import Path

from django.urls import reverse

import greenledger

STATIC = Path(greenledger.__file__).parent / "static"


def test_ui_is_chinese_by_default_and_switches_to_english(client, site, role_user):
    client.force_login(role_user("environmental_manager", site))
    body = client.get(reverse("core:dashboard")).content.decode()
    assert "仪表盘" in body and "证据日志" in body
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    body = client.get(reverse("core:dashboard")).content.decode()
    assert "Dashboard" in body and "Evidence log" in body


def test_pages_use_no_outside_assets(client, site, role_user):
    client.force_login(role_user("environmental_manager", site))
    body = client.get(reverse("core:dashboard")).content.decode()
    assert "echarts.min.js" in body and "htmx.min.js" in body
    assert "https://" not in body and "http://" not in body.replace("http://127.0.0.1", "")


def test_vendored_files_match_their_manifest():
    manifest = json.loads((STATIC / "vendor" / "VENDORED.json").read_text())
    for path, entry in manifest.items():
        assert hashlib.sha256((STATIC / "vendor" / path).read_bytes()).hexdigest() == entry["sha256"], path


def test_openapi_schema_and_local_docs(client, site, role_user):
    schema = client.get("/api/openapi.json").json()
    assert "/api/core/equipment" in schema["paths"]
    assert any(path.startswith("/api/evidence/") for path in schema["paths"])
    client.force_login(role_user("auditor", site))
    docs = client.get("/api/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()


def test_coming_pages_say_so(client, site, role_user):
    client.force_login(role_user("operator", site))
    response = client.get(reverse("core:coming", args=["gate"]))
    assert response.status_code == 200 and "门禁" in response.content.decode()
    assert client.get(reverse("core:coming", args=["nothing"])).status_code == 404
