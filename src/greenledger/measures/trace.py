"""Batch traceability (批次追溯): one timeline of everything that touched a production batch.

Records and anomalies carry the batch number; equipment status comes from the hourly rows of the
stage's continuous measures during the hours the batch was at that stage.
"""

from dataclasses import dataclass, field

from django.utils import timezone

from .filtersets import by_batch
from .models import Anomaly, ExecutionRecord, HourlyStatus


@dataclass
class StageTrace:
    stage: object
    start: object = None
    end: object = None
    events: list = field(default_factory=list)  # (time, kind, object)


@dataclass
class BatchTrace:
    batch_no: str
    stages: list

    @property
    def found(self):
        return any(stage.events for stage in self.stages)

    def as_dict(self):
        return {
            "batch_no": self.batch_no,
            "stages": [{
                "stage": s.stage.name, "start": s.start, "end": s.end,
                "events": [{"time": t, "kind": kind, **describe(kind, obj)} for t, kind, obj in s.events],
            } for s in self.stages],
        }


def describe(kind, obj):
    if kind == "record":
        return {"id": str(obj.pk), "measure": obj.measure.name, "executor": obj.executor.name, "values": obj.values,
                "compliant": obj.compliant, "is_late": obj.is_late, "superseded": obj.superseded,
                "remarks": obj.remarks}
    if kind == "anomaly":
        return {"id": str(obj.pk), "measure": obj.measure.name, "symptom": obj.symptom, "state": obj.state,
                "result": obj.result}
    return {"id": str(obj.pk), "measure": obj.measure.name, "status": obj.status, "hour": obj.hour}


def batch_trace(batch_no, sites):
    batch_no = batch_no.strip()
    records = list(by_batch(ExecutionRecord.objects.filter(site__in=sites), batch_no)
                   .select_related("measure", "stage", "executor").order_by("occurred_at"))
    anomalies = list(by_batch(Anomaly.objects.filter(site__in=sites), batch_no)
                     .select_related("measure__stage").order_by("occurred_at"))
    stages = {}
    for record in records:
        entry = stages.setdefault(record.stage_id, StageTrace(record.stage))
        entry.events.append((record.occurred_at, "record", record))
    for anomaly in anomalies:
        entry = stages.setdefault(anomaly.measure.stage_id, StageTrace(anomaly.measure.stage))
        entry.events.append((anomaly.occurred_at, "anomaly", anomaly))
    for entry in stages.values():
        times = [t for t, _kind, _obj in entry.events]
        entry.start, entry.end = min(times), max(times)
        hours = HourlyStatus.objects.filter(
            measure__stage=entry.stage, measure__site__in=sites, superseded=False,
            hour__gte=entry.start.replace(minute=0, second=0, microsecond=0), hour__lte=entry.end,
        ).exclude(status="running").select_related("measure")
        entry.events.extend((h.hour, "status", h) for h in hours)
        entry.events.sort(key=lambda event: event[0])
    ordered = sorted(stages.values(), key=lambda s: (s.stage.sequence, s.start or timezone.now()))
    return BatchTrace(batch_no, ordered)
