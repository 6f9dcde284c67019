"""Queueing records for the regulator (入队): "record saved ⇔ upload scheduled" in one transaction.

Signal receivers (connected in ``UplinkConfig.ready``, so the gate app knows nothing of the uplink)
add one ``OutboxItem`` per enabled platform of the record's site, inside the transaction that
writes the record — if the record rolls back, so does its upload:

- a new ``gate.Passage``;
- a photo attached to a passage (sent after the passage's own item is acknowledged);
- a road vehicle, in-plant vehicle or machine saved while *approved* (registration approved, or an
  approved registration changed). Pending and rejected registrations are not the regulator's
  business until they are approved. A change while an earlier change still waits unsent is
  folded into it: the body is built at the first attempt, from the registration as it is then;
- a new measure execution record (措施执行台账) or an issued emission report, only for the platforms
  whose regulator asks for them (``send_measure_records`` / ``send_emission_reports``).

:func:`reupload` queues a period again on demand (重新上传); the platform deduplicates by record id.
"""

from django.contrib.contenttypes.models import ContentType
from django.db.models.signals import post_save
from django.utils import timezone

from greenledger.core.prepared import Prepared

from .models import Kind, OutboxItem, Platform, State

REGISTRY_KINDS = {"vehicle": Kind.VEHICLE, "inplantvehicle": Kind.IN_PLANT_VEHICLE, "machine": Kind.MACHINE}


def platforms_of(site_id):
    return _enabled_platforms.all(site_id=site_id)


# asked for every passage and snapshot: compiled once (core.prepared)
_enabled_platforms = Prepared(lambda site_id: Platform.objects.filter(site_id=site_id, enabled=True).order_by("id")
                             .only("id"))  # not the listing order: that joins the site and the enterprise


def connect_signals():
    from greenledger.core.models import Attachment
    from greenledger.gate.models import InPlantVehicle, Machine, Passage, Vehicle

    post_save.connect(on_passage_saved, sender=Passage, dispatch_uid="uplink-passage")
    post_save.connect(on_attachment_saved, sender=Attachment, dispatch_uid="uplink-attachment")
    for model in (Vehicle, InPlantVehicle, Machine):
        post_save.connect(on_registry_saved, sender=model, dispatch_uid=f"uplink-{model._meta.model_name}")
    for model, _kind in _opt_in_models():
        post_save.connect(on_opt_in_record_saved, sender=model, dispatch_uid=f"uplink-{model._meta.model_name}")


def _opt_in_models():
    """Ledger records sent only to platforms that ask for them: (model, kind)."""
    from greenledger.carbon.models import EmissionReport
    from greenledger.measures.models import ExecutionRecord

    return ((ExecutionRecord, Kind.MEASURE_RECORD), (EmissionReport, Kind.EMISSION_REPORT))


OPT_IN_FLAGS = {Kind.MEASURE_RECORD: "send_measure_records", Kind.EMISSION_REPORT: "send_emission_reports"}


def on_passage_saved(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        enqueue_passage(instance)


def on_attachment_saved(sender, instance, created, raw=False, **kwargs):
    if not created or raw:
        return
    if instance.content_type_id != ContentType.objects.get_for_model(_passage_model()).pk:
        return
    passage = instance.record  # cached by core.attachments.attach; one query otherwise
    if passage is not None:
        enqueue_image(instance, passage)


def on_registry_saved(sender, instance, created, raw=False, **kwargs):
    if raw or not instance.approved:
        return
    enqueue_registry(instance)


def on_opt_in_record_saved(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        enqueue_record(instance, dict(_opt_in_models())[sender])


def enqueue_record(record, kind, *, reupload=False):
    """Queue a new measure record or emission report for the site's platforms that ask for its kind."""
    platforms = Platform.objects.filter(site_id=record.site_id, enabled=True, **{OPT_IN_FLAGS[kind]: True})
    produced = getattr(record, "recorded_at", None) or getattr(record, "issued_at")
    occurred = getattr(record, "occurred_at", None) or produced
    return OutboxItem.objects.bulk_create([
        OutboxItem(platform=platform, kind=kind, record_table=_table(record), record_id=str(record.pk),
                   occurred_at=occurred, produced_at=produced, reupload=reupload, next_attempt_at=_due_from(produced))
        for platform in platforms.only("id")])


def _passage_model():
    from greenledger.gate.models import Passage

    return Passage


def _table(record):
    return record._meta.label_lower


def _due_from(recorded_at):
    """Due at once: a record recorded "in the future" by a fast clock must not wait for it."""
    return min(recorded_at, timezone.now())


def enqueue_passage(passage, *, reupload=False, platforms=None):
    platforms = platforms if platforms is not None else platforms_of(passage.site_id)
    items = OutboxItem.objects.bulk_create([
        OutboxItem(platform=platform, kind=Kind.PASSAGE, record_table=_table(passage), record_id=str(passage.pk),
                   occurred_at=passage.occurred_at, produced_at=passage.recorded_at, reupload=reupload,
                   next_attempt_at=_due_from(passage.recorded_at))
        for platform in platforms])
    # the snapshots attached next, in the same transaction, go after these items: keep them on the
    # passage object so queueing each snapshot reads neither the platforms nor the items again
    if all(item.pk is not None for item in items):  # (a driver that returns no ids: query as before)
        passage._uplink_items = {item.platform_id: item for item in items}
    return items


def enqueue_image(attachment, passage, *, reupload=False, platforms=None):
    queued = getattr(passage, "_uplink_items", None) if platforms is None and not reupload else None
    if queued is not None:
        platforms = [item.platform for item in queued.values()]
    elif platforms is None:
        platforms = platforms_of(passage.site_id)
    items = []
    for platform in platforms:
        parent = queued[platform.pk] if queued is not None else (
            OutboxItem.objects.filter(platform=platform, kind=Kind.PASSAGE, record_id=str(passage.pk))
            .order_by("-id").first())
        items.append(OutboxItem(platform=platform, kind=Kind.PASSAGE_IMAGE, record_table=_table(attachment),
                                record_id=str(attachment.pk), after=parent, occurred_at=attachment.occurred_at,
                                produced_at=attachment.recorded_at, reupload=reupload,
                                next_attempt_at=_due_from(attachment.recorded_at)))
    return OutboxItem.objects.bulk_create(items)


def enqueue_registry(record, *, reupload=False):
    kind = REGISTRY_KINDS[record._meta.model_name]
    now = timezone.now()
    items = []
    for platform in platforms_of(record.site_id):
        waiting = OutboxItem.objects.filter(platform=platform, kind=kind, record_id=str(record.pk),
                                            state=State.QUEUED, payload__isnull=True, attempts=0)
        if not reupload and waiting.exists():
            continue
        items.append(OutboxItem(platform=platform, kind=kind, record_table=_table(record), record_id=str(record.pk),
                                record_version=record.updated_at.strftime("%Y%m%d%H%M%S%f"),
                                occurred_at=record.updated_at, produced_at=now, reupload=reupload))
    return OutboxItem.objects.bulk_create(items)


def reupload(platform, start, end, *, kinds=(Kind.PASSAGE, Kind.PASSAGE_IMAGE)):
    """Queue every passage (and its images) that occurred in [start, end) at the platform's site again."""
    from greenledger.core.models import Attachment
    from greenledger.gate.models import Passage

    passages = list(Passage.objects.filter(site_id=platform.site_id, occurred_at__gte=start, occurred_at__lt=end)
                    .order_by("occurred_at").only("id", "site_id", "occurred_at", "recorded_at"))
    count = 0
    if Kind.PASSAGE in kinds:
        count += len(enqueue_bulk(platform, passages, reupload=True))
    if Kind.PASSAGE_IMAGE in kinds:
        images = Attachment.objects.filter(content_type=ContentType.objects.get_for_model(Passage),
                                           object_id__in=[str(p.pk) for p in passages]).order_by("recorded_at")
        by_id = {str(p.pk): p for p in passages}
        for image in images:
            count += len(enqueue_image(image, by_id[image.object_id], reupload=True, platforms=[platform]))
    return count


def enqueue_bulk(platform, passages, *, reupload=False, batch_size=5000):
    """Queue many passages for one platform at once (re-upload, benchmark)."""
    return OutboxItem.objects.bulk_create([
        OutboxItem(platform=platform, kind=Kind.PASSAGE, record_table="gate.passage", record_id=str(p.pk),
                   occurred_at=p.occurred_at, produced_at=p.recorded_at, reupload=reupload,
                   next_attempt_at=_due_from(p.recorded_at))
        for p in passages], batch_size=batch_size)


def resend(item, *, payload=None, user=None):
    """Put a dead letter back in the queue: with the manager's corrected body, or rebuilt from the record."""
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    if item.state != State.DEAD:
        raise ValidationError({"state": _("Only dead letters can be resent.")}, code="state")
    if payload is not None and not isinstance(payload, dict):
        raise ValidationError({"payload": _("The payload must be a JSON object.")}, code="type")
    item.state, item.next_attempt_at, item.payload = State.QUEUED, timezone.now(), payload
    item.payload_edited_by = user if payload is not None and user is not None and user.is_authenticated else None
    item.save(update_fields=["state", "next_attempt_at", "payload", "payload_edited_by"])
    return item
