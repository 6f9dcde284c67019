"""Object scope in the measure ledger: site for staff and tokens, bound measures for contractors."""

from django.utils import timezone

from greenledger.core import permissions

from .models import Anomaly, ExecutionRecord, Measure
from .services import is_contractor


def measures_for(request):
    measures = Measure.objects.select_related("site", "stage", "equipment", "responsible")
    token = permissions.token_of(request)
    if token is not None:
        return measures.filter(site_id=token.site_id)
    user = request.user
    if is_contractor(user):
        return measures.filter(contractor_assignments__user=user,
                               contractor_assignments__valid_to__gte=timezone.now()).distinct()
    return measures.filter(site__in=permissions.user_sites(user))


def records_for(request):
    records = ExecutionRecord.objects.select_related("measure", "stage", "executor", "site", "equipment")
    token = permissions.token_of(request)
    if token is not None:
        return records.filter(site_id=token.site_id)
    user = request.user
    if is_contractor(user):
        return records.filter(entered_by=user)
    return records.filter(site__in=permissions.user_sites(user))


def anomalies_for(request):
    anomalies = Anomaly.objects.select_related("measure__stage", "owner", "site")
    token = permissions.token_of(request)
    if token is not None:
        return anomalies.filter(site_id=token.site_id)
    user = request.user
    if is_contractor(user):
        return anomalies.filter(reported_by=user)
    return anomalies.filter(site__in=permissions.user_sites(user))
