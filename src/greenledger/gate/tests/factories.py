"""Small builders for gate tests (no fixture files)."""

from greenledger.gate.models import Camera, Gate, GateSettings, Lane, RuleSet, Vehicle


def make_gate(site, *, grade="B", rule_set=None, protocol="zhenshi", code="main"):
    """A gate with an entry and an exit lane, one camera on each (codes ``<code>-in`` / ``<code>-out``)."""
    if rule_set is None:
        rule_set = RuleSet.objects.order_by("id").first()
    GateSettings.objects.update_or_create(site=site, defaults={"grade": grade, "rule_set": rule_set})
    gate = Gate.objects.create(site=site, code=code, name=f"{code} 门")
    for direction in ("in", "out"):
        lane = Lane.objects.create(gate=gate, code=f"{code}-{direction}", name=f"{direction} 车道",
                                   direction=direction)
        Camera.objects.create(lane=lane, code=f"{site.code}-{code}-{direction}", protocol=protocol,
                              serial_no=f"SN-{code}-{direction}")
    return gate


def make_vehicle(site, plate="苏D12345", *, stage="5", fuel="diesel", plate_color="yellow", state="approved",
                 **extra):
    extra.setdefault("category", "N3")
    extra.setdefault("vehicle_class", "heavy_truck")
    return Vehicle.objects.create(site=site, plate=plate, plate_color=plate_color, stage=stage, fuel=fuel,
                                  state=state, vin=extra.pop("vin", ""), **extra)
