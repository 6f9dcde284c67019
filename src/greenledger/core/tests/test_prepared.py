"""core.prepared: a lookup compiled once gives what the QuerySet gives, for new values, without
compiling again; values it cannot place run the QuerySet the ordinary way."""

import datetime
import uuid

import pytest
from django.db import connection
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from greenledger.core.models import ApiToken, Enterprise, Site
from greenledger.core.prepared import Prepared

pytestmark = pytest.mark.django_db


@pytest.fixture
def sites():
    enterprise = Enterprise.objects.create(name="E")
    return [Site.objects.create(enterprise=enterprise, code=f"s{i}", name=f"厂区{i}") for i in range(3)]


def count_compiles(monkeypatch):
    calls = []
    original = SQLCompiler.as_sql

    def counting(self, *args, **kwargs):
        calls.append(self.query.model)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", counting)
    return calls


def test_same_results_as_the_queryset_with_select_related_and_no_recompiling(sites, monkeypatch):
    tokens = {site.code: ApiToken.issue(name=f"t-{site.code}", site=site, purpose="camera")[0] for site in sites}
    by_name = Prepared(lambda name: ApiToken.objects.select_related("site").filter(name=name)[:1])
    first = by_name.first(name="t-s0")
    assert first == tokens["s0"] and first.site.code == "s0"
    compiles = count_compiles(monkeypatch)
    with CaptureQueriesContext(connection) as queries:
        found = [by_name.first(name=f"t-{site.code}") for site in sites]
        assert [t.site.name for t in found] == ["厂区0", "厂区1", "厂区2"]  # loaded with the token
    assert found == [tokens["s0"], tokens["s1"], tokens["s2"]]
    assert len(queries) == 3 and compiles == []
    assert by_name.first(name="nobody") is None


def test_integers_datetimes_uuids_and_values_list(sites, monkeypatch):
    now = timezone.now()
    for i, site in enumerate(sites):
        ApiToken.issue(name=f"t{i}", site=site, purpose="camera", expires_at=now + datetime.timedelta(days=i))
    later = Prepared(lambda site_id, after: ApiToken.objects.filter(site_id=site_id, expires_at__gt=after)
                     .values_list("name", "expires_at"))
    assert later.all(site_id=sites[2].pk, after=now) == [("t2", now + datetime.timedelta(days=2))]
    compiles = count_compiles(monkeypatch)
    assert later.all(site_id=sites[1].pk, after=now) == [("t1", now + datetime.timedelta(days=1))]
    assert later.all(site_id=sites[1].pk, after=now + datetime.timedelta(days=2)) == []
    assert compiles == []
    token = ApiToken.objects.get(name="t0")
    other = Prepared(lambda site_id, not_id: ApiToken.objects.filter(site_id=site_id).exclude(pk=not_id)
                     .values_list("name", flat=True))
    assert other.all(site_id=sites[0].pk, not_id=token.pk) == []
    assert other.all(site_id=sites[0].pk, not_id=uuid.uuid4() if isinstance(token.pk, uuid.UUID) else -1) == ["t0"]


def test_values_it_cannot_place_run_the_queryset(sites):
    by_code = Prepared(lambda code: Site.objects.filter(code=code))
    assert by_code.all(code=None) == []  # None changes the SQL (IS NULL): never prepared
    assert [s.code for s in by_code.all(code="s1")] == ["s1"]
    assert by_code.all(code=None) == []
    # a value that is also a constant of the query is placed by position, not by equality
    same = Prepared(lambda name: Site.objects.filter(name=name).exclude(code="s1").values_list("code", flat=True))
    assert same.all(name="s1") == []
    assert same.all(name="厂区2") == ["s2"]


def test_each_thread_runs_on_its_own_connection(sites, transactional_db):
    """Connections are per thread: a lookup prepared in one thread runs on another's connection."""
    import threading

    from django.db import connections

    by_code = Prepared(lambda code: Site.objects.filter(code=code).values_list("name", flat=True))
    assert by_code.all(code="s0") == ["厂区0"]
    found = []

    def other():
        try:
            found.append(by_code.all(code="s2"))
        finally:
            connections.close_all()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert found == [["厂区2"]]
