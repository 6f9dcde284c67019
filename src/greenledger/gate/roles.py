"""What each role may do in the gate e-ledger (added to the role groups by a migration)."""

REGISTRY_MODELS = ("carrier", "vehicle", "inplantvehicle", "machine")
POLICY_MODELS = ("listentry", "ruleset", "rule", "gatesettings")
SETUP_MODELS = ("gate", "lane", "camera")

VIEW = [f"gate.view_{model}" for model in (*REGISTRY_MODELS, *POLICY_MODELS, *SETUP_MODELS, "alertperiod",
                                           "passage", "passageaction", "cameraevent", "usagerecord",
                                           "transportrecord")]
REGISTRY_EDIT = [f"gate.{action}_{model}" for model in REGISTRY_MODELS for action in ("add", "change")]
POLICY_EDIT = [f"gate.{action}_{model}" for model in POLICY_MODELS for action in ("add", "change", "delete")]
SETUP_EDIT = [f"gate.{action}_{model}" for model in SETUP_MODELS for action in ("add", "change", "delete")]
GUARD = ["gate.view_passage", "gate.view_passageaction", "gate.view_vehicle", "gate.view_carrier",
         "gate.view_inplantvehicle", "gate.view_machine", "gate.view_alertperiod", "gate.view_cameraevent",
         "gate.operate_gate", "gate.release_manually", "gate.add_passageaction", "gate.add_vehicle",
         "gate.add_usagerecord"]

GATE_ROLE_PERMISSIONS = {
    "system_admin": [*VIEW, *SETUP_EDIT, "gate.change_gatesettings"],
    "environmental_manager": [*VIEW, *REGISTRY_EDIT, *POLICY_EDIT, "gate.review_registration",
                              "gate.add_alertperiod", "gate.view_gate_statistics", "gate.operate_gate",
                              "gate.release_manually", "gate.add_passageaction", "gate.add_usagerecord",
                              "gate.add_transportrecord"],
    "carbon_manager": ["gate.view_gate_statistics", "gate.view_transportrecord"],
    "safety_manager": [],
    "shift_leader": ["gate.view_passage", "gate.view_usagerecord", "gate.add_usagerecord"],
    "operator": ["gate.view_usagerecord", "gate.add_usagerecord"],
    "gate_guard": GUARD,
    "contractor": [],
    "supplier": [],
    "auditor": [*VIEW, "gate.view_gate_statistics"],
}
