"""The navigation of every app, in one list, filtered by permission for each user.

Each entry: (url name, url argument, label, permission or None, section). Sections that later ledgers fill
point at the "coming" page until their app lands.
"""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

NAVIGATION = [
    ("core:dashboard", None, _("Dashboard"), "core.view_dashboard", "overview"),
    ("measures:dashboard", None, _("Measure dashboard"), "measures.view_compliance", "measures"),
    ("field:home", None, _("Record on site (phone)"), "measures.record_measure", "measures"),
    ("measures:record_list", None, _("Execution records"), "measures.view_executionrecord", "measures"),
    ("measures:measure_list", None, _("Measure catalogue"), "measures.view_measure", "measures"),
    ("measures:approvals", None, _("Approvals"), "measures.approve_late_entry", "measures"),
    ("measures:anomaly_list", None, _("Anomalies"), "measures.view_anomaly", "measures"),
    ("measures:hourly_board", None, _("Hourly status"), "measures.view_hourlystatus", "measures"),
    ("measures:trace", None, _("Batch trace"), "measures.view_executionrecord", "measures"),
    ("measures:compliance", None, _("Compliance check"), "measures.view_compliance", "measures"),
    ("measures:annual_summary", None, _("Annual summary"), "measures.view_compliance", "measures"),
    ("measures:contractors", None, _("Contractors"), "measures.view_contractorassignment", "measures"),
    ("carbon:dashboard", None, _("Carbon dashboard"), "carbon.view_emissions", "carbon"),
    ("carbon:report", None, _("Monthly emission report"), "carbon.view_emissions", "carbon"),
    ("carbon:effects", None, _("Measure effects"), "carbon.view_emissions", "carbon"),
    ("carbon:anomalies", None, _("Emission anomalies"), "carbon.view_emissionanomaly", "carbon"),
    ("carbon:crosschecks", None, _("Cross-checks with production"), "carbon.view_emissions", "carbon"),
    ("carbon:activity_list", None, _("Activity data"), "carbon.view_activityrecord", "carbon"),
    ("carbon:output_list", None, _("Production output"), "carbon.view_productionoutput", "carbon"),
    ("carbon:certificate_list", None, _("Green certificates"), "carbon.view_greencertificate", "carbon"),
    ("carbon:factor_list", None, _("Emission factors"), "carbon.view_emissionfactor", "carbon"),
    ("telemetry:energy", None, _("Energy dashboard"), "telemetry.view_measuringpoint", "telemetry"),
    ("telemetry:point_list", None, _("Measuring points"), "telemetry.view_measuringpoint", "telemetry"),
    ("telemetry:quality", None, _("Data quality"), "telemetry.view_measuringpoint", "telemetry"),
    ("telemetry:upload", None, _("Upload readings"), "telemetry.upload_readings", "telemetry"),
    ("telemetry:error_list", None, _("Intake errors"), "telemetry.view_intakeerror", "telemetry"),
    ("gate:console", None, _("Gate console"), "gate.operate_gate", "gate"),
    ("gate:passage_list", None, _("Passage ledger"), "gate.view_passage", "gate"),
    ("gate:exceptions", None, _("Manual releases & blocks"), "gate.view_passageaction", "gate"),
    ("gate:alerts", None, _("Alert level"), "gate.view_alertperiod", "gate"),
    ("gate:statistics", None, _("Gate statistics"), "gate.view_gate_statistics", "gate"),
    ("gate:evidence_pack", None, _("Rating evidence pack"), "gate.view_gate_statistics", "gate"),
    ("gate:vehicle_list", None, _("Road vehicles"), "gate.view_vehicle", "gate"),
    ("gate:inplant_list", None, _("In-plant vehicles"), "gate.view_inplantvehicle", "gate"),
    ("gate:machine_list", None, _("Non-road machinery"), "gate.view_machine", "gate"),
    ("gate:carrier_list", None, _("Carriers"), "gate.view_carrier", "gate"),
    ("gate:review_queue", None, _("Registrations to review"), "gate.review_registration", "gate"),
    ("gate:list_entries", None, _("White/black lists"), "gate.view_listentry", "gate"),
    ("gate:usage_list", None, _("Vehicle & machinery use"), "gate.view_usagerecord", "gate"),
    ("gate:transport_list", None, _("Transport records"), "gate.view_transportrecord", "gate"),
    ("gate:rulesets", None, _("Admission rules"), "gate.view_ruleset", "gate"),
    ("gate:settings", None, _("Gate settings"), "gate.view_gatesettings", "gate"),
    ("uplink:dashboard", None, _("Upload rate"), "uplink.view_uplink_dashboard", "uplink"),
    ("uplink:outbox", None, _("Outbox & dead letters"), "uplink.view_outboxitem", "uplink"),
    ("uplink:reconciliation", None, _("Reconciliation"), "uplink.view_outboxitem", "uplink"),
    ("uplink:instructions", None, _("Regulator instructions"), "uplink.view_inboundinstruction", "uplink"),
    ("uplink:platform_list", None, _("Regulator platforms"), "uplink.view_platform", "uplink"),
    ("core:coming", "supply", _("Supply-chain carbon"), "core.view_dashboard", "ledgers"),
    ("core:coming", "reports", _("Reports"), "core.view_dashboard", "ledgers"),
    ("evidence:overview", None, _("Evidence log"), "evidence.view_leaf", "assurance"),
    ("core:audit_list", None, _("Audit trail"), "core.view_auditentry", "assurance"),
    ("core:site_list", None, _("Sites & workshops"), "core.view_site", "organisation"),
    ("core:equipment_list", None, _("Equipment"), "core.view_equipment", "organisation"),
    ("core:person_list", None, _("People"), "core.view_person", "organisation"),
    ("core:token_list", None, _("API tokens"), "core.view_apitoken", "organisation"),
]

SECTIONS = {
    "overview": _("Overview"),
    "measures": _("Measure ledger"),
    "carbon": _("Carbon accounting"),
    "telemetry": _("Energy & telemetry"),
    "gate": _("Gate e-ledger"),
    "uplink": _("Regulator uplink"),
    "ledgers": _("Ledgers"),
    "assurance": _("Assurance"),
    "organisation": _("Organisation"),
}

COMING = {
    "measures": (_("Measure ledger"), _("Safety and emission-reduction measures, recorded as they are done.")),
    "telemetry": (_("Energy & telemetry"), _("Meters, sensors and PLC data with 15-minute, hourly and daily rollups.")),
    "carbon": (_("Carbon accounting"), _("Emission factors, emissions by scope, measure effects and anomalies.")),
    "gate": (_("Gate e-ledger"), _("Vehicles, non-road machinery, gate decisions and the passage ledger (HJ 1321-2023).")),
    "uplink": (_("Regulator uplink"), _("Signed, resumable upload of ledger records to the regulator's platform.")),
    "supply": (_("Supply-chain carbon"), _("Supplier disclosures, grading, product footprints and carbon labels.")),
    "reports": (_("Reports"), _("Period reports and evidence packs as PDF and Excel.")),
}


def visible_navigation(user):
    groups = []
    for url_name, arg, label, perm, section in NAVIGATION:
        if perm is not None and not user.has_perm(perm):
            continue
        if not groups or groups[-1]["key"] != section:
            groups.append({"key": section, "label": SECTIONS[section], "items": []})
        href = reverse(url_name, args=[arg] if arg else [])
        groups[-1]["items"].append({"href": href, "label": label})
    return groups
