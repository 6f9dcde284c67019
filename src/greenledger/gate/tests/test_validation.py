"""Plate (GA 36), plate colour, VIN (ISO 3779) and machine-code checks."""

import pytest

from greenledger.gate import validation
from greenledger.gate.validation import PlateKind, check_machine_code, check_plate, check_vin, plate_kind

pytestmark = pytest.mark.usefixtures("english")  # the tests check English wording


def rules(check):
    return [p.rule for p in check.errors], [p.rule for p in check.warnings]


@pytest.mark.parametrize("plate, kind", [
    ("苏D12345", PlateKind.ORDINARY),
    ("京A8B9C7", PlateKind.ORDINARY),
    ("粤BZ9X65", PlateKind.ORDINARY),
    ("苏A1234挂", PlateKind.TRAILER),
    ("鲁B1234学", PlateKind.COACH),
    ("苏A1234警", PlateKind.POLICE),
    ("粤Z1234港", PlateKind.HONG_KONG),
    ("粤Z9065澳", PlateKind.MACAU),
    ("使123456", PlateKind.EMBASSY),
    ("224001使", PlateKind.EMBASSY),
    ("沪A1234领", PlateKind.CONSULATE),
    ("苏AD12345", PlateKind.NEV_SMALL),
    ("苏AFA1234", PlateKind.NEV_SMALL),
    ("苏A12345D", PlateKind.NEV_LARGE),
    ("冀B54321F", PlateKind.NEV_LARGE),
])
def test_every_plate_type_is_recognised(plate, kind):
    assert plate_kind(plate) == kind
    assert check_plate(plate).ok


def test_plates_are_normalised_before_checking():
    assert validation.normalize_plate(" 苏a·d1234５ ") == "苏AD12345"
    assert check_plate("苏a-12345").ok


@pytest.mark.parametrize("plate, rule, words", [
    ("", "required", "enter"),
    ("XA12345", "pattern", "province"),
    ("苏A1234", "pattern", "6 characters"),
    ("苏A1234567", "pattern", "9 characters"),
    ("苏11234S", "pattern", "issuing authority"),
    ("苏AI2345", "pattern", "I and O"),
    ("苏A12O45", "pattern", "I and O"),
    ("苏AZ12345", "pattern", "D or F"),
    ("苏A12345G", "pattern", "D or F"),
    ("苏A123挂4", "pattern", "not a valid plate"),
])
def test_invalid_plates_are_refused_with_the_reason(plate, rule, words):
    check = check_plate(plate)
    assert rules(check)[0] == [rule]
    assert words in check.errors[0].message
    assert check.errors[0].field == "plate"


def test_error_messages_name_the_field():
    assert check_plate("XA12345").errors[0].message.startswith("Plate number")
    assert check_vin("ABC").errors[0].message.startswith("VIN")


@pytest.mark.parametrize("letter", list("ABCEGHJK"))
def test_small_new_energy_plate_with_another_letter_is_only_a_warning(letter):
    check = check_plate(f"沪A{letter}12345")
    assert check.ok
    assert rules(check)[1] == ["nev_letter"]


@pytest.mark.parametrize("plate, good, bad", [
    ("苏D12345", ["blue", "yellow"], ["green", "yellow_green", "white", "black"]),
    ("苏A1234挂", ["yellow"], ["blue", "green"]),
    ("鲁B1234学", ["yellow"], ["blue"]),
    ("苏A1234警", ["white"], ["blue", "yellow"]),
    ("粤Z1234港", ["black"], ["blue", "yellow"]),
    ("粤Z1234澳", ["black"], ["yellow"]),
    ("使123456", ["black"], ["blue"]),
    ("沪A1234领", ["black"], ["blue"]),
    ("苏AD12345", ["green"], ["blue", "yellow_green", "yellow"]),
    ("苏A12345D", ["yellow_green"], ["green", "yellow"]),
])
def test_plate_colour_must_fit_the_plate_type(plate, good, bad):
    for color in good:
        assert check_plate(plate, color).ok, color
    for color in bad:
        check = check_plate(plate, color)
        assert rules(check)[0] == ["color"], color
        assert check.errors[0].field == "plate_color"


def test_unknown_colour_asks_for_a_second_look():
    check = check_plate("苏D12345", "unknown")
    assert check.ok and rules(check)[1] == ["unknown_color"]


# VINs: public examples with a correct check digit (position 9)
GOOD_VINS = ["1M8GDM9AXKP042788", "11111111111111111", "1HGCM82633A004352", "LFV2A21K257000008"]


@pytest.mark.parametrize("vin", GOOD_VINS)
def test_vins_with_a_matching_check_digit_pass_without_warning(vin):
    check = check_vin(vin)
    assert check.ok and not check.warnings
    assert validation.vin_check_digit(vin) == vin[8]


def test_check_digit_ten_is_written_x():
    assert validation.vin_check_digit("1M8GDM9A0KP042788") == "X"


def test_vin_check_digit_mismatch_is_a_warning_not_an_error():
    check = check_vin("1M8GDM9A1KP042788")
    assert check.ok
    assert rules(check)[1] == ["check_digit"]
    assert "X" in check.warnings[0].message


@pytest.mark.parametrize("vin, rule", [
    ("1M8GDM9AXKP04278", "length"),
    ("1M8GDM9AXKP0427888", "length"),
    ("1M8GDM9AXKP04278O", "alphabet"),
    ("IM8GDM9AXKP042788", "alphabet"),
    ("1M8GDM9AXKP04278Q", "alphabet"),
    ("1M8GDM9AXKP04278#", "alphabet"),
])
def test_vin_length_and_alphabet_are_errors(vin, rule):
    check = check_vin(vin)
    assert rule in rules(check)[0]
    assert not check.warnings


def test_empty_vin_is_allowed_unless_required():
    assert check_vin("").ok
    assert rules(check_vin("", required=True))[0] == ["required"]


def test_vin_is_normalised():
    assert check_vin(" 1m8gdm9axkp042788 ").ok


@pytest.mark.parametrize("code, ok", [
    ("CN4LD123456789012", True),
    ("cn4ld123456789012", True),
    ("CN4LD12345678901", False),
    ("CN4LD1234567890123", False),
    ("CN4LD-123456789012", True),  # separators are removed: 17 left
    ("CN4LD1234567890+2", False),
])
def test_machine_code_has_17_letters_or_digits(code, ok):
    assert check_machine_code(code).ok is ok


def test_trailer_plate_must_end_with_gua():
    assert validation.check_trailer_plate("苏A1234挂").ok
    assert rules(validation.check_trailer_plate("苏A12345"))[0] == ["pattern"]


def test_vehicle_check_warns_when_plate_and_fuel_disagree():
    check = validation.check_vehicle({"plate": "苏AD12345", "plate_color": "green", "fuel": "diesel"})
    assert check.ok and rules(check)[1] == ["nev_fuel"]
    assert not validation.check_vehicle({"plate": "苏AD12345", "plate_color": "green", "fuel": "electric"}).warnings


def test_vehicle_check_warns_on_blue_plate_for_a_heavy_truck():
    check = validation.check_vehicle({"plate": "苏D12345", "plate_color": "blue", "category": "N3"})
    assert rules(check) == ([], ["large_blue"])


def test_vehicle_check_collects_every_error():
    check = validation.check_vehicle({"plate": "苏D12345", "plate_color": "green", "vin": "123",
                                      "trailer_plate": "苏A12345"})
    assert sorted(p.field for p in check.errors) == ["plate_color", "trailer_plate", "vin"]


def test_in_plant_vehicle_and_machine_may_have_no_plate():
    assert validation.check_in_plant_vehicle({"plate": "", "vin": ""}).ok
    assert validation.check_machine({"machine_code": "", "plate": ""}).ok
    assert not validation.check_machine({"machine_code": "SHORT", "plate": ""}).ok
