"""Fixtures for the evidence log tests: a throwaway signing key and attachment records to seal."""

import itertools

import pytest
from django.contrib.contenttypes.models import ContentType

from greenledger.evidence import keys

_counter = itertools.count()


@pytest.fixture(autouse=True)
def evidence_key(settings, tmp_path):
    """Every test signs with its own key under tmp_path, never the project's key."""
    settings.GREENLEDGER_EVIDENCE_KEY = tmp_path / "keys" / "nested" / "evidence.pem"
    keys._load_or_create.cache_clear()
    yield settings.GREENLEDGER_EVIDENCE_KEY
    keys._load_or_create.cache_clear()


@pytest.fixture
def make_attachment(db):
    """Factory of sealed core.Attachment rows (a real SealedModel of the project)."""
    from greenledger.core.models import Attachment

    def make(**fields):
        number = next(_counter)
        values = {
            "content_type": ContentType.objects.get_for_model(Attachment),
            "object_id": str(number),
            "file": f"attachments/2026/11/photo-{number}.jpg",
            "original_name": f"排放口照片-{number}.jpg",
            "mime_type": "image/jpeg",
            "size": 1000 + number,
            "sha256": f"{number:064x}",
            "kind": "photo",
            "caption": "废气排放口 outlet",
        }
        values.update(fields)
        return Attachment.objects.create(**values)

    return make
