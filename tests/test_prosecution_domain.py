"""The prosecution's rules as plain Python: every step allowed and refused, what each step
records, the competent office, tracking codes, the filing schema and the shipped courts."""
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import pytest
from marshmallow import ValidationError

from services.common.errors import TransitionRefused
from services.common.schemas import load
from services.prosecution import domain, schemas
from services.prosecution.directory import SHIPPED, entry_errors, read_entries

NOW = datetime(2026, 5, 31, 23, 30, tzinfo=timezone.utc)  # already June 1st in Morocco


@dataclass
class Complaint:
    """The attributes the domain reads and writes, as the model has them."""
    status: str = "received"
    office_code: str = "TPI_RABAT"
    status_before_request: str | None = None
    register_number: str | None = None
    decision_reason: str | None = None
    decided_at: datetime | None = None
    updated_at: datetime | None = None


ACTION_DATA = {
    "register": {"register_number": "1234/3101/2026"},
    "refer_to_police": {},
    "request_information": {"message": "Joignez le reçu."},
    "file_without_action": {"reason": "insufficient_evidence"},
    "launch_prosecution": {},
    "refer_to_investigating_judge": {},
    "forward": {"to_office_code": "TPI_SALE"},
}

# (action, from status) -> the status it leads to; every pair missing here is refused
ALLOWED = {
    ("register", "received"): "registered",
    ("refer_to_police", "registered"): "under_investigation",
    ("refer_to_police", "information_requested"): "under_investigation",
    ("request_information", "registered"): "information_requested",
    ("request_information", "under_investigation"): "information_requested",
    **{(decision, source): target
       for decision, target in (("file_without_action", "filed_without_action"),
                                ("launch_prosecution", "prosecution_launched"),
                                ("refer_to_investigating_judge", "referred_to_investigating_judge"))
       for source in ("registered", "under_investigation", "information_requested")},
    **{("forward", source): "received"
       for source in ("received", "registered", "under_investigation", "information_requested")},
}


@pytest.mark.parametrize("action", sorted(domain.ACTIONS))
@pytest.mark.parametrize("status", domain.STATUSES)
def test_each_action_from_each_status(action, status):
    complaint = Complaint(status=status)
    if (action, status) in ALLOWED:
        domain.act(complaint, action, ACTION_DATA[action], NOW)
        assert complaint.status == ALLOWED[(action, status)]
        assert complaint.updated_at == NOW
        assert action in domain.allowed_actions(Complaint(status=status))
    else:
        with pytest.raises(TransitionRefused) as refused:
            domain.act(complaint, action, ACTION_DATA[action], NOW)
        assert refused.value.code == "not_allowed_in_status"
        assert complaint.status == status  # nothing changed
        assert action not in domain.allowed_actions(complaint)


def test_the_path_to_a_decision_records_what_each_step_says():
    complaint = Complaint()
    assert domain.act(complaint, "register", ACTION_DATA["register"], NOW) == {"register_number": "1234/3101/2026"}
    assert complaint.register_number == "1234/3101/2026"
    assert domain.act(complaint, "refer_to_police", {}, NOW) == {}
    assert domain.act(complaint, "request_information", ACTION_DATA["request_information"], NOW) == {
        "message": "Joignez le reçu."}
    assert complaint.status_before_request == "under_investigation"
    assert domain.act(complaint, "file_without_action", ACTION_DATA["file_without_action"], NOW) == {
        "reason": "insufficient_evidence"}
    assert (complaint.status, complaint.decision_reason, complaint.decided_at) == (
        "filed_without_action", "insufficient_evidence", NOW)
    assert not domain.is_open(complaint)
    assert domain.allowed_actions(complaint) == []


def test_forwarding_starts_again_at_the_competent_office():
    complaint = Complaint(status="registered", register_number="12/2026")
    detail = domain.act(complaint, "forward", {"to_office_code": "CA_RABAT"}, NOW)
    assert detail == {"from_office_code": "TPI_RABAT", "to_office_code": "CA_RABAT"}
    assert (complaint.office_code, complaint.status, complaint.register_number) == ("CA_RABAT", "received", None)
    with pytest.raises(TransitionRefused) as refused:
        domain.act(complaint, "forward", {"to_office_code": "CA_RABAT"}, NOW)
    assert refused.value.code == "same_office"


def test_documents_answer_a_request_for_information_and_stop_at_the_decision():
    complaint = Complaint(status="under_investigation")
    domain.act(complaint, "request_information", ACTION_DATA["request_information"], NOW)
    assert domain.add_documents(complaint, NOW) == {"answered_request": True}
    assert (complaint.status, complaint.status_before_request) == ("under_investigation", None)
    assert domain.add_documents(complaint, NOW) == {}  # more evidence, no request pending
    for decision in domain.DECISIONS:
        with pytest.raises(TransitionRefused):
            domain.add_documents(Complaint(status=decision), NOW)


def test_every_step_has_a_name_and_every_status_is_reachable():
    assert set(domain.STEPS) == {"received", "registered", "referred_to_police", "information_requested",
                                 "filed_without_action", "prosecution_launched",
                                 "referred_to_investigating_judge", "forwarded", "documents_added"}
    reached = {"received"} | set(ALLOWED.values())
    assert reached == set(domain.STATUSES)


COURTS = [
    {"code": "CA_RABAT", "kind": "appeal", "appeal_court": None, "cities": []},
    {"code": "TPI_RABAT", "kind": "first_instance", "appeal_court": "CA_RABAT", "cities": [{"code": "RABAT"}]},
    {"code": "TPI_TEMARA", "kind": "first_instance", "appeal_court": "CA_RABAT",
     "cities": [{"code": "TEMARA"}, {"code": "SKHIRAT"}]},
]


@pytest.mark.parametrize("category, city, office", [
    ("theft", "RABAT", "TPI_RABAT"),
    ("violence", "SKHIRAT", "TPI_TEMARA"),
    ("corruption", "SKHIRAT", "CA_RABAT"),  # a financial crime: the court of appeal's prosecutor
    ("embezzlement", "RABAT", "CA_RABAT"),
    ("theft", "ATLANTIS", None),
])
def test_the_competent_office_follows_the_place_and_the_category(category, city, office):
    assert domain.Directory(COURTS).competent_office(category, city) == office


def test_a_directory_that_contradicts_itself_is_described():
    broken = COURTS + [{"code": "TPI_SALE", "kind": "first_instance", "appeal_court": "CA_KENITRA",
                        "cities": [{"code": "RABAT"}]}]
    problems = domain.directory_errors(broken)
    assert any("RABAT is served by both TPI_RABAT and TPI_SALE" in problem for problem in problems)
    assert any("CA_KENITRA" in problem for problem in problems)


def test_the_shipped_courts_are_consistent_and_cover_the_main_cities():
    courts = read_entries(SHIPPED)
    assert domain.directory_errors(courts) == []
    appeal = [court for court in courts if court["kind"] == "appeal"]
    first_instance = [court for court in courts if court["kind"] == "first_instance"]
    assert len(appeal) >= 21 and len(first_instance) >= 60
    directory = domain.Directory(courts)
    for city in ("CASABLANCA", "RABAT", "FES", "MARRAKECH", "TANGER", "AGADIR", "OUJDA", "LAAYOUNE"):
        office = directory.competent_office("theft", city)
        assert office.startswith("TPI_"), city
        assert directory.competent_office("corruption", city).startswith("CA_"), city
    names = {court["code"]: court for court in courts}
    assert names["TPI_RABAT"]["name_ar"] == "المحكمة الابتدائية بالرباط"
    assert names["CA_FES"]["name_fr"] == "Cour d'appel de Fès"


def test_an_invalid_court_is_described_for_the_operator(tmp_path):
    bad = tmp_path / "courts.json"
    bad.write_text(json.dumps([{"code": "tpi x", "kind": "first_instance", "name_ar": "", "name_fr": "T",
                                "office_ar": "ن", "office_fr": "P", "cities": []}]))
    with pytest.raises(ValueError) as error:
        read_entries(bad)
    message = str(error.value)
    assert "code 'tpi x'" in message and "name_ar is missing" in message and "appeal_court is missing" in message
    assert entry_errors({"code": "CA_X", "kind": "appeal", "name_ar": "م", "name_fr": "C", "office_ar": "ن",
                         "office_fr": "P", "appeal_court": None, "cities": []}) == []


def test_tracking_codes_are_short_unique_and_forgive_typing():
    codes = {domain.new_tracking_code() for _ in range(2000)}
    assert len(codes) == 2000
    code = codes.pop()
    assert len(code) == 13 and code.count("-") == 2
    assert domain.normalize_tracking_code(code.lower().replace("-", " ")) == code
    typo = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert domain.normalize_tracking_code(typo) is None


def test_statistics_count_in_moroccan_months():
    assert domain.month_of(NOW) == "2026-06"


def filing(**overrides):
    data = {
        "category": "corruption", "facts_date": "2026-03-01", "facts_city": "RABAT",
        "account": "Un agent a demandé 500 dirhams pour délivrer un certificat administratif.",
        "language": "fr",
        "complainant": {"status": "citizen", "id_type": "cnie", "id_number": "bk123456", "first_name": "Fatima",
                        "last_name": "El Amrani", "birth_date": "1985-04-12", "nationality": "marocaine",
                        "address": "12 rue des Orangers, Rabat", "country": "Maroc", "phone": "06 12 34 56 78"},
        "accused": [{"kind": "natural_person", "last_name": "X", "description": "agent au guichet 3"},
                    {"kind": "legal_person", "legal_name": "Société Y", "commercial_register": "RC 12345",
                     "first_name": "dropped"}],
    }
    data.update(overrides)
    return data


def test_a_valid_filing_is_cleaned():
    data = load(schemas.ComplaintFiling, filing())
    assert data["complainant"]["phone"] == "+212612345678"
    assert data["complainant"]["id_number"] == "BK123456"
    assert data["facts_date"] == date(2026, 3, 1)
    assert data["accused"][1]["first_name"] is None  # not a natural person's field
    assert data["identity_sealed"] is False


@pytest.mark.parametrize("change, field, code", [
    ({"complainant": {**filing()["complainant"], "phone": None}}, "complainant.phone", "required"),
    ({"complainant": {**filing()["complainant"], "phone": "0522000000"}}, "complainant.phone", "invalid_phone"),
    ({"complainant": {**filing()["complainant"], "birth_date": "1985-13-40"}}, "complainant.birth_date",
     "invalid_date"),
    ({"facts_date": (date.today() + timedelta(days=1)).isoformat()}, "facts_date", "date_in_future"),
    ({"accused": []}, "accused", "required"),
    ({"accused": [{"kind": "natural_person"}]}, "accused.0.last_name", "required"),
    ({"accused": [{"kind": "unknown"}, {"kind": "legal_person"}]}, "accused.1.legal_name", "required"),
    ({"accused": [{"kind": "unknown"}] * 11}, "accused", "too_many_accused"),
    ({"category": "theft", "identity_sealed": True}, "identity_sealed", "sealing_not_offered"),
    ({"account": "trop court"}, "account", "too_short"),
    ({"category": "witchcraft"}, "category", "invalid_choice"),
])
def test_a_wrong_field_is_named(change, field, code):
    with pytest.raises(ValidationError) as error:
        load(schemas.ComplaintFiling, filing(**change))
    assert code in error.value.messages[field]


def test_staff_see_their_own_office_only():
    clerk = {"role": "prosecution_clerk", "office_code": "TPI_RABAT"}
    assert domain.in_scope(clerk, "TPI_RABAT")
    assert not domain.in_scope(clerk, "TPI_SALE")
    assert not domain.in_scope({"role": "agent", "office_code": "TPI_RABAT"}, "TPI_RABAT")


def test_every_code_of_the_channel_has_a_label_and_every_problem_a_sentence():
    from gateway import errors, prosecution_labels as labels
    assert set(labels.CATEGORIES) == set(domain.CATEGORIES)
    assert set(labels.STATUSES) == set(domain.STATUSES)
    assert set(labels.STEPS) == set(domain.STEPS)
    assert set(labels.FILING_REASONS) == set(domain.FILING_REASONS)
    assert set(labels.ACCUSED_KINDS) == set(domain.ACCUSED_KINDS)
    assert set(labels.ROLES) == set(domain.ROLES)
    assert set(labels.ACTIONS) == set(labels.DONE) == set(domain.ACTIONS)
    codes = {"invalid_date", "date_in_future", "too_many_accused", "sealing_not_offered", "invalid_phone",
             "invalid_id_number", "captcha_wrong", "captcha_expired", "captcha_used", "captcha_too_many"}
    assert codes <= set(errors.FIELD_MESSAGES)
    assert {"same_office", "not_sealed"} <= set(errors.TRANSITION_MESSAGES)
