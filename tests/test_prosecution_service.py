"""The prosecution service in a real nameko container, on this run's vhost and a fresh
PostgreSQL database: filing, tracking, the office's steps and their events, who sees what."""
import json

import pytest
from nameko.testing.services import entrypoint_hook

from services.common.crypto import decrypt
from services.common.errors import NotFound, TransitionRefused, ValidationFailed
from services.common.events import load_event
from services.prosecution.directory import main as directory_command
from tests.conftest import wait_for
from tests.helpers import listen, rows, take
from tests.prosecution_support import CLERK, filing, prosecution  # noqa: F401 (a fixture)

OTHER_CLERK = {**CLERK, "id": "agent:99", "office_code": "TPI_SALE"}
CHIEF = {"id": "agent:2", "name": "Procureur en chef", "role": "chief_prosecutor", "office_code": "CA_RABAT"}


def call(container, method, *args):
    with entrypoint_hook(container, method) as entrypoint:
        return entrypoint(*args)


def events(amqp_uri, queue, count):
    """The next `count` messages of a test queue, decoded."""
    found = []

    def collected():
        message = take(amqp_uri, queue.name)
        if message is not None:
            found.append(message)
        return len(found) >= count

    wait_for(collected, message=f"{count} events")
    return found


def test_filing_commits_the_complaint_at_the_competent_office_and_announces_it(prosecution, amqp_uri):
    queue = listen(amqp_uri, "prosecution.events", "prosecution.complaint_registered")
    receipt = call(prosecution, "file_complaint", filing(facts_city="SKHIRAT", category="theft"))
    assert receipt["office_code"] == "TPI_TEMARA"  # Skhirat's court of first instance
    assert receipt["status"] == "received"
    [complaint] = rows(prosecution.db_url, "select * from complaints")
    assert complaint["tracking_code"] == receipt["tracking_code"]
    assert decrypt(complaint["complainant_phone"]) == "+212612345678"  # stored encrypted
    accused = rows(prosecution.db_url, "select kind, last_name, legal_name from accused order by position")
    assert [(a["kind"], a["last_name"] and decrypt(a["last_name"]), a["legal_name"]) for a in accused] == [
        ("natural_person", "Bennani", None), ("legal_person", None, "Société Atlas Services SARL")]
    [event] = events(amqp_uri, queue, 1)
    event = load_event("prosecution.complaint_registered", event)
    assert event["tracking_code"] == receipt["tracking_code"]
    assert (event["office_code"], event["category"], event["step"]) == ("TPI_TEMARA", "theft", "received")
    assert event["citizen"] == {"language": "fr", "phone": "+212612345678", "email": "fatima@example.ma"}
    # nothing personal beyond the contact: no name, no account of the facts, no accused
    flat = json.dumps(event, default=str)
    assert "Amrani" not in flat and "Bennani" not in flat and "dirhams" not in flat


def test_corruption_goes_to_the_court_of_appeal(prosecution):
    receipt = call(prosecution, "file_complaint", filing(category="corruption", facts_city="SALE"))
    assert receipt["office_code"] == "CA_RABAT"


def test_a_missing_field_is_named_and_nothing_is_stored(prosecution):
    bad = filing()
    bad["complainant"].pop("phone")
    bad["accused"][1].pop("legal_name")
    with pytest.raises(ValidationFailed) as error:
        call(prosecution, "file_complaint", bad)
    assert error.value.errors["complainant.phone"] == ["required"]
    assert error.value.errors["accused.1.legal_name"] == ["required"]
    with pytest.raises(ValidationFailed) as error:
        call(prosecution, "file_complaint", filing(facts_city="ATLANTIS"))
    assert error.value.errors == {"facts_city": ["invalid_choice"]}
    assert rows(prosecution.db_url, "select id from complaints") == []
    assert rows(prosecution.db_url, "select id from outbox") == []


def test_the_same_client_reference_files_once(prosecution):
    first = call(prosecution, "file_complaint", filing(client_reference="form-1234-abcd"))
    second = call(prosecution, "file_complaint", filing(client_reference="form-1234-abcd"))
    assert first["tracking_code"] == second["tracking_code"]
    assert (first["replayed"], second["replayed"]) == (False, True)


def test_tracking_needs_the_code_and_the_phone_given_at_filing(prosecution):
    code = call(prosecution, "file_complaint", filing())["tracking_code"]
    view = call(prosecution, "track", code.lower(), "+212 6 12 34 56 78")
    assert view["status"] == "received" and view["can_add_documents"]
    assert [entry["step"] for entry in view["timeline"]] == ["received"]
    assert "account" not in view and "complainant" not in view
    for wrong_code, phone in ((code, "0611111111"), ("AAAA-BBBB-CCC", "0612345678"), (code, "")):
        with pytest.raises(NotFound):
            call(prosecution, "track", wrong_code, phone)


def test_the_office_moves_it_to_a_decision_and_each_step_is_announced(prosecution, amqp_uri):
    queue = listen(amqp_uri, "prosecution.events", "prosecution.step_recorded")
    code = call(prosecution, "file_complaint", filing())["tracking_code"]
    call(prosecution, "act", CLERK, code, "register", {"register_number": "1234/3101/2026"})
    call(prosecution, "act", CLERK, code, "refer_to_police", {})
    call(prosecution, "act", CLERK, code, "request_information", {"message": "Joignez le reçu."})
    view = call(prosecution, "add_documents", code, "0612345678", [{
        "blob_key": "attachments/receipt", "filename": "recu.pdf", "content_type": "application/pdf",
        "size": 10, "sha256": "a" * 64}])
    assert view["status"] == "under_investigation"  # the documents answered the request
    summary = call(prosecution, "act", CLERK, code, "file_without_action", {"reason": "insufficient_evidence"})
    assert summary["status"] == "filed_without_action"
    view = call(prosecution, "track", code, "0612345678")
    assert [entry["step"] for entry in view["timeline"]] == [
        "received", "registered", "referred_to_police", "information_requested", "documents_added",
        "filed_without_action"]
    assert view["timeline"][1]["detail"] == {"register_number": "1234/3101/2026"}
    assert (view["decision_reason"], view["can_add_documents"]) == ("insufficient_evidence", False)
    announced = [load_event("prosecution.step_recorded", event) for event in events(amqp_uri, queue, 4)]
    assert [event["step"] for event in announced] == [
        "registered", "referred_to_police", "information_requested", "filed_without_action"]
    assert announced[0]["register_number"] == "1234/3101/2026"
    assert announced[-1]["reason"] == "insufficient_evidence"
    assert all(event["citizen"]["phone"] == "+212612345678" for event in announced)
    with pytest.raises(TransitionRefused):
        call(prosecution, "act", CLERK, code, "launch_prosecution", {})
    with pytest.raises(TransitionRefused):
        call(prosecution, "add_documents", code, "0612345678", [{
            "blob_key": "attachments/late", "filename": "late.pdf", "content_type": "application/pdf",
            "size": 10, "sha256": "b" * 64}])


def test_an_action_with_a_missing_field_is_refused_and_changes_nothing(prosecution):
    code = call(prosecution, "file_complaint", filing())["tracking_code"]
    with pytest.raises(ValidationFailed) as error:
        call(prosecution, "act", CLERK, code, "register", {})
    assert error.value.errors == {"register_number": ["required"]}
    with pytest.raises(ValidationFailed) as error:
        call(prosecution, "act", CLERK, code, "forward", {"to_office_code": "TPI_NOWHERE"})
    assert error.value.errors == {"to_office_code": ["invalid_choice"]}
    assert rows(prosecution.db_url, "select status from complaints")[0]["status"] == "received"


def test_another_office_gets_not_found_and_forwarding_hands_the_file_over(prosecution):
    code = call(prosecution, "file_complaint", filing())["tracking_code"]  # theft in Rabat: TPI_RABAT
    for method, args in (("office_view", ()), ("act", ("register", {"register_number": "1/2026"})),
                         ("office_attachment", (1,))):
        with pytest.raises(NotFound):
            call(prosecution, method, OTHER_CLERK, code, *args)
    assert [row["tracking_code"] for row in call(prosecution, "office_inbox", OTHER_CLERK, {})] == []
    assert [row["tracking_code"] for row in call(prosecution, "office_inbox", CLERK, {})] == [code]
    call(prosecution, "act", CLERK, code, "forward", {"to_office_code": "TPI_SALE"})
    assert call(prosecution, "office_view", OTHER_CLERK, code)["status"] == "received"
    with pytest.raises(NotFound):
        call(prosecution, "office_view", CLERK, code)


def test_every_view_is_logged_and_a_sealed_identity_opens_only_to_the_chief_with_a_reason(prosecution):
    code = call(prosecution, "file_complaint", filing(category="corruption", identity_sealed=True))["tracking_code"]
    clerk = {**CLERK, "office_code": "CA_RABAT"}
    view = call(prosecution, "office_view", clerk, code)
    assert view["complainant"]["sealed"] is True
    assert view["complainant"]["pseudonym"].startswith("P-")
    assert "Amrani" not in json.dumps(view)
    with pytest.raises(NotFound):
        call(prosecution, "unseal_identity", clerk, code, "Audition du plaignant nécessaire")
    with pytest.raises(ValidationFailed):
        call(prosecution, "unseal_identity", CHIEF, code, "")
    person = call(prosecution, "unseal_identity", CHIEF, code, "Audition du plaignant nécessaire")
    assert person["last_name"] == "El Amrani"
    with pytest.raises(NotFound):
        call(prosecution, "access_log", clerk, code)
    log = call(prosecution, "access_log", CHIEF, code)
    assert [(entry["action"], entry["actor_role"]) for entry in log] == [
        ("unseal", "chief_prosecutor"), ("view", "prosecution_clerk")]
    assert log[0]["reason"] == "Audition du plaignant nécessaire"
    # still sealed for the clerk afterwards
    assert call(prosecution, "office_view", clerk, code)["complainant"]["sealed"] is True


def test_the_courts_import_command_adds_and_refuses_whole_files(tmp_path, var_dir, monkeypatch, database_url, capsys):
    monkeypatch.setenv("PROSECUTION_DATABASE_URL", database_url("prosecution"))
    good = tmp_path / "courts.csv"
    good.write_text("code,kind,name_ar,name_fr,office_ar,office_fr,appeal_court,cities\n"
                    "CA_TEST,appeal,محكمة الاستئناف بتجربة,Cour d'appel de Test,النيابة العامة,Parquet général,,\n"
                    "TPI_TEST,first_instance,المحكمة الابتدائية بتجربة,Tribunal de Test,النيابة العامة,Parquet,"
                    "CA_TEST,TESTVILLE|تجربة|Testville;TESTBOURG|تجربة الصغرى|Testbourg\n", encoding="utf-8")
    assert directory_command(["import", str(good)]) == 0
    assert "2 courts added" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("code,kind,name_ar,name_fr,office_ar,office_fr,appeal_court,cities\n"
                   "TPI_OTHER,first_instance,م,T,ن,P,CA_TEST,TESTVILLE|تجربة|Testville\n", encoding="utf-8")
    assert directory_command(["import", str(bad)]) == 1
    assert "TESTVILLE is served by both TPI_TEST and TPI_OTHER" in capsys.readouterr().err
    assert directory_command(["list"]) == 0
    listed = {court["code"]: court for court in json.loads(capsys.readouterr().out)}
    assert [city["code"] for city in listed["TPI_TEST"]["cities"]] == ["TESTBOURG", "TESTVILLE"]
    assert "TPI_OTHER" not in listed
