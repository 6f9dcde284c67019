"""What each role may do in the measure ledger (added to the role groups by a migration)."""

VIEW = ["measures.view_measure", "measures.view_executionrecord", "measures.view_anomaly",
        "measures.view_hourlystatus", "measures.view_checklisttemplate", "measures.view_compliance"]
RECORD = ["measures.record_measure", "measures.add_anomaly", "measures.add_hourlystatus"]
CATALOGUE = [f"measures.{action}_{model}" for model in ("measure", "measureparameter", "checklisttemplate", "shift")
             for action in ("add", "change", "delete")]
CONTRACTORS = [f"measures.{action}_contractorassignment" for action in ("add", "change", "view")]

MEASURE_ROLE_PERMISSIONS = {
    "system_admin": [*VIEW, *CATALOGUE, *CONTRACTORS],
    "environmental_manager": [*VIEW, *RECORD],
    "carbon_manager": [*VIEW, *RECORD, *CATALOGUE, "measures.handle_anomaly"],
    "safety_manager": [*VIEW, *RECORD, *CATALOGUE, *CONTRACTORS, "measures.handle_anomaly",
                       "measures.approve_late_entry", "measures.confirm_contractor_work"],
    "shift_leader": [*VIEW, *RECORD, "measures.handle_anomaly", "measures.approve_late_entry",
                     "measures.confirm_contractor_work", "measures.view_contractorassignment"],
    "operator": [*VIEW, *RECORD],
    "gate_guard": [],
    "contractor": ["measures.view_measure", "measures.view_executionrecord", "measures.record_measure",
                   "measures.add_anomaly"],
    "supplier": [],
    "auditor": [*VIEW, "measures.view_contractorassignment"],
}
