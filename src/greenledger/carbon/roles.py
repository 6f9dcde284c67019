"""What each role may do in carbon accounting (granted to the role groups by a migration).

The carbon manager keeps the factor library, activity data, production output, green certificates
and measure effects and issues reports; environmental and safety managers and auditors read;
shift leaders see the emissions of their site; contractors, suppliers and gate guards see nothing.
"""

MODELS = ("emissionfactor", "activityrecord", "greencertificate", "productionoutput", "measureeffect",
          "sitecarbonprofile", "emissionreport", "emissionanomaly")
VIEW = ["carbon.view_emissions", *[f"carbon.view_{model}" for model in MODELS]]
EDIT = [
    "carbon.add_emissionfactor", "carbon.add_activityrecord", "carbon.add_greencertificate",
    "carbon.add_productionoutput", "carbon.add_measureeffect", "carbon.change_measureeffect",
    "carbon.delete_measureeffect", "carbon.add_sitecarbonprofile", "carbon.change_sitecarbonprofile",
    "carbon.issue_report", "carbon.add_emissionreport",
]

CARBON_ROLE_PERMISSIONS = {
    "system_admin": [*VIEW, "carbon.add_sitecarbonprofile", "carbon.change_sitecarbonprofile"],
    "environmental_manager": [*VIEW],
    "carbon_manager": [*VIEW, *EDIT],
    "safety_manager": [*VIEW],
    "shift_leader": ["carbon.view_emissions", "carbon.view_emissionanomaly"],
    "operator": [],
    "gate_guard": [],
    "contractor": [],
    "supplier": [],
    "auditor": [*VIEW],
}
