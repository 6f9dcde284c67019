"""The measure ledger's panel on the site dashboard (core collects one panel per app)."""

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Anomaly, AnomalyState, ApprovalState, ExecutionRecord


def panel(request, site):
    if not request.user.has_perm("measures.view_compliance"):
        return None
    month_start = timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    records = ExecutionRecord.objects.filter(site=site, occurred_at__gte=month_start).aggregate(
        total=Count("pk"), late=Count("pk", filter=Q(late_state=ApprovalState.PENDING)),
        anomalies=Count("pk", filter=Q(has_anomaly=True)))
    open_anomalies = Anomaly.objects.filter(site=site).exclude(state=AnomalyState.CLOSED).count()
    return {
        "title": _("Measure ledger"),
        "link": reverse("measures:dashboard") + f"?site={site.code}",
        "figures": [
            (_("Records this month"), records["total"], reverse("measures:record_list") + f"?start={month_start:%Y-%m-%d}"),
            (_("Late entries waiting"), records["late"], reverse("measures:approvals")),
            (_("Open anomalies"), open_anomalies, reverse("measures:anomaly_list") + "?state=open"),
        ],
    }
