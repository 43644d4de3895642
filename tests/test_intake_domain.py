"""Intake's rules alone, without a broker: tracking numbers, phones, the submission schema."""
import random

import pytest
from marshmallow import ValidationError

from services.intake import domain
from services.intake.schemas import load_submission
from tests.factories import valid_submission


def compact(number):
    return number.replace("-", "")


def test_tracking_numbers_carry_60_random_bits_and_read_back():
    numbers = {domain.new_tracking_number() for _ in range(2000)}
    assert len(numbers) == 2000
    for number in numbers:
        assert len(compact(number)) == 13 and number.count("-") == 2
        assert domain.normalize_tracking_number(number) == number
    assert domain.RANDOM_SYMBOLS * 5 >= 60


def test_typing_variants_are_accepted():
    number = domain.new_tracking_number()
    typed = f"  {compact(number).lower()[:6]} {compact(number).lower()[6:]} "
    assert domain.normalize_tracking_number(typed) == number
    zero_as_o = "O".join(number.rsplit("0", 1)) if "0" in number[:-1] else None
    if zero_as_o:
        assert domain.normalize_tracking_number(zero_as_o) == number


def test_the_check_symbol_catches_every_single_typo():
    rng = random.Random(7)
    for _ in range(200):
        number = compact(domain.new_tracking_number())
        position = rng.randrange(len(number))
        for wrong in domain.ALPHABET:
            if wrong != number[position]:
                typo = number[:position] + wrong + number[position + 1:]
                assert domain.normalize_tracking_number(typo) is None


def test_the_check_symbol_catches_swapped_neighbours():
    missed = 0
    for _ in range(300):
        number = compact(domain.new_tracking_number())
        for i in range(len(number) - 1):
            a, b = number[i], number[i + 1]
            if a == b or {a, b} == {"0", "Z"}:  # Luhn mod 32's one blind spot, like 09/90 in Luhn
                continue
            swapped = number[:i] + b + a + number[i + 2:]
            missed += domain.normalize_tracking_number(swapped) is not None
    assert missed == 0


@pytest.mark.parametrize("typed", ["", "ABCD", "ABCD-EFGH-JKMN!", "UUUU-UUUU-UUUUU"])
def test_what_cannot_be_a_tracking_number(typed):
    assert domain.normalize_tracking_number(typed) is None


@pytest.mark.parametrize("raw,expected", [
    ("0612345678", "+212612345678"),
    ("06 12 34 56 78", "+212612345678"),
    ("+212 7 12 34 56 78", "+212712345678"),
    ("+33 6 12 34 56 78", "+33612345678"),    # a Moroccan abroad
    ("0522123456", None),                     # a landline cannot receive the SMS
    ("12345", None),
    ("not a phone", None),
])
def test_phone_numbers_are_stored_e164_and_must_take_sms(raw, expected):
    assert domain.normalize_phone(raw) == expected


def test_contact_matching():
    assert domain.contact_matches("a@b.ma", None, " A@B.MA ")
    assert domain.contact_matches(None, "+212612345678", "0612345678")
    assert not domain.contact_matches("a@b.ma", "+212612345678", "")
    assert not domain.contact_matches(None, "+212612345678", "a@b.ma")


def errors_of(submission):
    with pytest.raises(ValidationError) as error:
        load_submission(submission)
    return error.value.messages


def test_every_missing_field_is_named():
    errors = errors_of({"complainant": {}})
    for field in ("type", "administration_code", "subject", "description", "region", "language",
                  "complainant.full_name", "complainant.status", "complainant.id_type",
                  "complainant.id_number"):
        assert errors[field] == ["required"], field
    assert errors["complainant.contact"] == ["contact_required"]


@pytest.mark.parametrize("overrides,field,code", [
    ({"type": "insult"}, "type", "invalid_choice"),
    ({"region": "ATLANTIS"}, "region", "invalid_choice"),
    ({"language": "en"}, "language", "invalid_choice"),
    ({"subject": "x" * 201}, "subject", "too_long"),
    ({"description": "trop court"}, "description", "too_short"),
    ({"email": "pas-un-email", "phone": None}, "complainant.email", "invalid_email"),
    ({"phone": "0522123456"}, "complainant.phone", "invalid_phone"),
    ({"id_number": "12/34"}, "complainant.id_number", "invalid_id_number"),
    ({"full_name": "   "}, "complainant.full_name", "required"),
])
def test_bad_values_get_a_code_per_field(overrides, field, code):
    assert errors_of(valid_submission(**overrides))[field] == [code]


def test_a_valid_submission_is_cleaned():
    data = load_submission(valid_submission(email=" Fatima@Example.MA ", id_number="bk123456"))
    assert data["complainant"]["email"] == "fatima@example.ma"
    assert data["complainant"]["phone"] == "+212612345678"
    assert data["complainant"]["id_number"] == "BK123456"
