import pytest

from .builders import start_simulator


@pytest.fixture
def simulator():
    sim = start_simulator()
    yield sim
    sim.stop()


@pytest.fixture
def platform(site, simulator, tmp_path, monkeypatch):
    from .builders import make_platform

    return make_platform(site, simulator, tmp_path=tmp_path, monkeypatch=monkeypatch)
