"""Tags (标签) on any record: one small service and one HTMX partial reused by every app."""

from django.contrib.contenttypes.models import ContentType

from .models import Tag, TaggedItem


def tags_of(record):
    return Tag.objects.filter(
        items__content_type=ContentType.objects.get_for_model(record), items__object_id=str(record.pk)
    ).order_by("name")


def add_tag(record, name):
    tag, _ = Tag.objects.get_or_create(name=name.strip()[:50])
    TaggedItem.objects.get_or_create(
        tag=tag, content_type=ContentType.objects.get_for_model(record), object_id=str(record.pk)
    )
    return tag


def remove_tag(record, name):
    TaggedItem.objects.filter(
        tag__name=name, content_type=ContentType.objects.get_for_model(record), object_id=str(record.pk)
    ).delete()


def tagged(model, name):
    """Primary keys of ``model`` rows carrying the tag ``name`` (for filters)."""
    return TaggedItem.objects.filter(
        tag__name=name, content_type=ContentType.objects.get_for_model(model)
    ).values_list("object_id", flat=True)
