"""Personal data (law 09-08), against the real services, RabbitMQ and PostgreSQL: nothing
personal stored in clear (read with plain SQL), everything still working through the services,
key rotation, a deployment without keys refused, the retention commands, and staff downloads in
the access log."""
import hashlib
import json
import os
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from nameko.testing.services import entrypoint_hook

from services.common import config, crypto
from services.common.blobs import LocalBlobStore, new_attachment_key
from services.common.db import utcnow
from services.common.errors import NotFound
from services.intake import retention as intake_retention
from services.intake.service import IntakeService
from services.notify import retention as notify_retention
from services.notify.service import NotifyService
from services.prosecution import retention as prosecution_retention
from services.prosecution.service import ProsecutionService
from tests.backoffice_support import PASSWORD, add_account, sign_in
from tests.conftest import wait_for
from tests.factories import valid_submission
from tests.helpers import execute, rows
from tests.prosecution_support import CLERK, filing, prosecution  # noqa: F401 (a fixture)

# what the filings below hold that identifies someone, in any form it is stored in
PERSONAL = ("Fatima", "Amrani", "BK123456", "612345678", "fatima@example.ma", "Orangers", "1985-04-12",
            "Bennani", "vendeur au marché")
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def call(container, method, *args):
    with entrypoint_hook(container, method) as entrypoint:
        return entrypoint(*args)


def everything_stored(url) -> str:
    """Every row of every table of a database, as text."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        tables = sa.inspect(connection).get_table_names()
        dump = [json.dumps([dict(row) for row in connection.execute(sa.text(f'select * from "{table}"')).mappings()],
                           default=str, ensure_ascii=False) for table in tables]
    engine.dispose()
    return "\n".join(dump)


def sent(channel):
    path = config.outbox_dir() / f"{channel}.jsonl"
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()] if path.exists() else []


def stored_attachment(var_dir, name="piece.pdf") -> dict:
    """A file in the embedded blob store, described as the gateway hands it to a service."""
    key = new_attachment_key()
    LocalBlobStore(var_dir / "blobs").put(key, PDF, "application/pdf")
    return {"blob_key": key, "filename": name, "content_type": "application/pdf", "size": len(PDF),
            "sha256": hashlib.sha256(PDF).hexdigest()}


# --- encrypted at rest

def test_no_personal_data_is_stored_in_clear_and_the_services_still_use_it(intake, notify, prosecution):
    receipt = call(intake, "submit", valid_submission(email="fatima@example.ma"))
    number = receipt["tracking_number"]
    # tracking compares the contact after decrypting the row found by its number
    assert call(intake, "track", number, "+212 6 12 34 56 78")["tracking_number"] == number
    assert call(intake, "track", number, "Fatima@Example.ma")["tracking_number"] == number
    with pytest.raises(NotFound):
        call(intake, "track", number, "0699999999")
    code = call(prosecution, "file_complaint", filing())["tracking_code"]
    assert call(prosecution, "track", code, "0612345678")["tracking_code"] == code
    view = call(prosecution, "office_view", CLERK, code)
    assert (view["complainant"]["last_name"], view["complainant"]["birth_date"]) == ("El Amrani", "1985-04-12")
    assert view["accused"][0]["last_name"] == "Bennani"
    # notify sends to the decrypted contacts: the filing's SMS and e-mail, the prosecution's two
    wait_for(lambda: len(sent("sms")) == 2 and len(sent("email")) == 2, message="the four messages")
    assert {message["to"] for message in sent("sms")} == {"+212612345678"}
    assert {message["to"] for message in sent("email")} == {"fatima@example.ma"}
    assert any("Fatima Zahra El Amrani" in message["text"] for message in sent("email"))

    for container in (intake, prosecution, notify):
        stored = everything_stored(container.db_url)
        assert "gAAAAA" in stored  # Fernet tokens: the data is there, encrypted
        assert [value for value in PERSONAL if value in stored] == []


def test_a_new_key_put_first_and_a_rotation_make_the_old_key_unneeded(start_service, monkeypatch):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("PERSONAL_DATA_KEYS", old)
    intake = start_service(IntakeService)
    number = call(intake, "submit", valid_submission(email="fatima@example.ma"))["tracking_number"]
    # the event waits in the outbox (no queue is bound): encrypted with the old key too
    [before] = rows(intake.db_url, "select complainant_full_name from complaints")
    assert Fernet(old).decrypt(before["complainant_full_name"].encode()) == b"Fatima Zahra El Amrani"

    monkeypatch.setenv("PERSONAL_DATA_KEYS", f"{new},{old}")
    monkeypatch.setenv("INTAKE_DATABASE_URL", intake.db_url)
    assert crypto.main(["rotate", "--service", "intake"]) == 0
    tokens = [value for row in rows(intake.db_url, "select complainant_full_name, complainant_id_number, "
                                                   "complainant_email, complainant_phone from complaints")
              for value in row.values() if value is not None]
    tokens += [row["payload"] for row in rows(intake.db_url, "select payload from outbox")]
    assert len(tokens) >= 5
    for token in tokens:
        Fernet(new).decrypt(token.encode())  # the new key alone reads every value
        with pytest.raises(InvalidToken):
            Fernet(old).decrypt(token.encode())

    monkeypatch.setenv("PERSONAL_DATA_KEYS", new)  # the old key removed
    assert call(intake, "track", number, "fatima@example.ma")["tracking_number"] == number
    agent = {"id": "41", "name": "Admin", "role": "platform_admin", "administration_code": None}
    assert call(intake, "agent_view", agent, number)["complainant"]["id_number"] == "BK123456"
    assert crypto.rotate("intake") == {"complaints": 0, "outbox": 0}  # nothing left under another key

    monkeypatch.setenv("PERSONAL_DATA_KEYS", Fernet.generate_key().decode())  # a key that reads nothing
    assert crypto.main(["rotate", "--service", "intake"]) == 1


@pytest.mark.parametrize("service_class", [IntakeService, ProsecutionService, NotifyService])
def test_a_deployment_without_keys_refuses_to_start(service_class, start_service, database_url, monkeypatch,
                                                     var_dir, capsys):
    monkeypatch.delenv("PERSONAL_DATA_KEYS")
    monkeypatch.setenv(f"{service_class.name.upper()}_DATABASE_URL", database_url(service_class.name))
    with pytest.raises(crypto.MissingKeys, match="PERSONAL_DATA_KEYS is not set"):
        start_service(service_class)
    assert not (var_dir / crypto.KEY_FILE).exists()
    assert crypto.main(["rotate", "--service", service_class.name]) == 1
    assert "PERSONAL_DATA_KEYS is not set" in capsys.readouterr().err

    monkeypatch.setenv("PERSONAL_DATA_KEYS", "not-a-fernet-key")
    with pytest.raises(crypto.MissingKeys, match="key 1 is not a Fernet key") as refused:
        start_service(service_class)
    assert "not-a-fernet-key" not in str(refused.value)


def test_the_embedded_default_makes_its_key_once_under_var(start_service, var_dir, monkeypatch):
    monkeypatch.delenv("PERSONAL_DATA_KEYS")
    for name in [name for name in os.environ if name.endswith("DATABASE_URL")]:
        monkeypatch.delenv(name)
    intake = start_service(IntakeService)
    call(intake, "submit", valid_submission())
    key_file = var_dir / crypto.KEY_FILE
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    [row] = rows(intake.db_url, "select complainant_id_number from complaints")
    assert Fernet(key_file.read_bytes()).decrypt(row["complainant_id_number"].encode()) == b"BK123456"
    key = key_file.read_bytes()
    start_service(IntakeService)  # a second process of the laptop shares it
    assert key_file.read_bytes() == key


def test_an_encrypted_column_cannot_be_compared_in_sql():
    from services.intake.models import Complaint
    with pytest.raises(TypeError, match="cannot be compared in SQL"):
        Complaint.complainant_phone == "+212612345678"
    assert str(Complaint.complainant_phone.is_(None)).endswith("IS NULL")


# --- retention

CNSS_ADMIN = {"id": "41", "name": "Admin", "role": "platform_admin", "administration_code": None}


def test_intake_retention_erases_what_was_closed_long_ago_and_keeps_the_facts(intake, var_dir, monkeypatch,
                                                                              capsys):
    attachment = stored_attachment(var_dir)
    old = call(intake, "submit", valid_submission(email="fatima@example.ma",
                                                  attachments=[attachment]))["tracking_number"]
    recent = call(intake, "submit", valid_submission())["tracking_number"]
    still_open = call(intake, "submit", valid_submission())["tracking_number"]
    call(intake, "add_note", CNSS_ADMIN, old, "Le frère de Mme El Amrani a appelé")
    for number, days in ((old, 731), (recent, 10)):
        execute(intake.db_url, "update complaints set status = 'closed', closed_reason = 'resolved', "
                               "closed_at = now() - make_interval(days => :days) where tracking_number = :n",
                days=days, n=number)
    monkeypatch.setenv("INTAKE_DATABASE_URL", intake.db_url)
    monkeypatch.setenv("RETENTION_DAYS", "730")

    assert intake_retention.main(["--dry-run"]) == 0
    output = capsys.readouterr().out
    assert "would erase" in output and "1 complaints" in output and old not in output
    assert rows(intake.db_url, "select personal_data_erased_at from complaints where personal_data_erased_at "
                               "is not null") == []

    assert intake_retention.main([]) == 0
    output = capsys.readouterr().out
    assert "erased the personal data of 1 complaints, 1 attachments" in output and old not in output
    [erased] = rows(intake.db_url, "select * from complaints where tracking_number = :n", n=old)
    assert [erased[f"complainant_{field}"] for field in ("full_name", "id_number", "email", "phone")] == [None] * 4
    assert (erased["subject"], erased["description"]) == ("", "")
    assert (erased["type"], erased["administration_code"], erased["status"], erased["closed_reason"],
            erased["region"]) == ("complaint", "CNSS", "closed", "resolved", "CS")
    assert erased["submitted_at"] and erased["closed_at"] and erased["personal_data_erased_at"]
    assert rows(intake.db_url, "select text from notes") == [{"text": ""}]
    assert rows(intake.db_url, "select id from attachments") == []
    assert not (var_dir / "blobs" / attachment["blob_key"]).exists()
    assert [value for value in PERSONAL if value in everything_stored(intake.db_url)] == []
    # the complaint still counts and shows its facts; the others keep everything
    [public] = call(intake, "public_requests", {"tracking_numbers": [old]})
    assert (public["status"], public["type"], public["administration_code"]) == ("closed", "complaint", "CNSS")
    assert call(intake, "agent_view", CNSS_ADMIN, old)["complainant"]["full_name"] is None
    for number in (recent, still_open):
        assert call(intake, "agent_view", CNSS_ADMIN, number)["complainant"]["full_name"] == "Fatima Zahra El Amrani"
        assert call(intake, "track", number, "0612345678")["tracking_number"] == number
    with pytest.raises(NotFound):
        call(intake, "track", old, "fatima@example.ma")  # nothing left to prove who asks

    assert intake_retention.main(["--days", "5"]) == 0  # again, shorter: the recent one now, never the old twice
    assert "erased the personal data of 1 complaints, 0 attachments" in capsys.readouterr().out
    assert intake_retention.main(["--days", "5"]) == 0
    assert "erased the personal data of 0 complaints" in capsys.readouterr().out


def test_prosecution_retention_erases_decided_complaints_only(prosecution, var_dir, monkeypatch, capsys):
    document = stored_attachment(var_dir, "preuve.pdf")
    decided = call(prosecution, "file_complaint", filing(attachments=[document]))["tracking_code"]
    pending = call(prosecution, "file_complaint", filing())["tracking_code"]
    execute(prosecution.db_url, "update complaints set status = 'filed_without_action', "
                                "decision_reason = 'insufficient_evidence', register_number = '12/2024', "
                                "decided_at = now() - interval '800 days' where tracking_code = :c", c=decided)
    execute(prosecution.db_url, "update complaints set submitted_at = now() - interval '800 days' "
                                "where tracking_code = :c", c=pending)  # old, but not decided
    monkeypatch.setenv("PROSECUTION_DATABASE_URL", prosecution.db_url)

    assert prosecution_retention.main(["--dry-run", "--days", "730"]) == 0
    assert "would erase" in capsys.readouterr().out
    assert prosecution_retention.main(["--days", "730"]) == 0
    assert "erased the personal data of 1 complaints, 1 documents" in capsys.readouterr().out

    [erased] = rows(prosecution.db_url, "select * from complaints where tracking_code = :c", c=decided)
    assert [erased[f"complainant_{field}"] for field in prosecution_retention.COMPLAINANT] == [None] * 9
    assert (erased["account"], erased["facts_place"]) == ("", None)
    assert (erased["category"], erased["office_code"], erased["status"], erased["decision_reason"],
            erased["register_number"], erased["facts_city"]) == (
        "theft", "TPI_RABAT", "filed_without_action", "insufficient_evidence", "12/2024", "RABAT")
    accused = rows(prosecution.db_url, "select first_name, last_name, description, legal_name from accused "
                                       "where complaint_id = :id order by position", id=erased["id"])
    assert accused == [{"first_name": None, "last_name": None, "description": None, "legal_name": None},
                       {"first_name": None, "last_name": None, "description": None,
                        "legal_name": "Société Atlas Services SARL"}]
    assert not (var_dir / "blobs" / document["blob_key"]).exists()
    view = call(prosecution, "office_view", CLERK, decided)
    assert view["complainant"]["last_name"] is None and view["attachments"] == []
    assert call(prosecution, "office_view", CLERK, pending)["complainant"]["last_name"] == "El Amrani"
    assert prosecution_retention.main(["--days", "730"]) == 0
    assert "erased the personal data of 0 complaints" in capsys.readouterr().out


def test_notify_retention_erases_old_messages_and_keeps_their_history(notify, rabbit_config, monkeypatch, capsys):
    from nameko.standalone.events import event_dispatcher
    from nameko.testing.services import entrypoint_waiter
    from services.common.events import make_event
    from tests.factories import submitted_event_data
    for number in ("ABCD-EFGH-JKMN0", "BCDE-FGHJ-KMNP1"):
        with entrypoint_waiter(notify, "on_complaint_submitted"):
            event_dispatcher(rabbit_config)("intake", "complaint.submitted", make_event(
                "complaint.submitted", submitted_event_data(number, email="fatima@example.ma")))
    execute(notify.db_url, "update deliveries set created_at = created_at - interval '731 days', "
                           "updated_at = updated_at - interval '731 days' where tracking_number = 'ABCD-EFGH-JKMN0'")
    monkeypatch.setenv("NOTIFY_DATABASE_URL", notify.db_url)

    assert notify_retention.main(["--dry-run"]) == 0  # RETENTION_DAYS unset: 730
    assert "would erase (dry run, nothing changed) the personal data of 2 deliveries" in capsys.readouterr().out
    assert notify_retention.main([]) == 0
    assert "erased the personal data of 2 deliveries" in capsys.readouterr().out
    old = rows(notify.db_url, "select * from deliveries where tracking_number = 'ABCD-EFGH-JKMN0' order by id")
    assert [(row["channel"], row["template"], row["status"]) for row in old] == [
        ("sms", "complaint_submitted", "sent"), ("email", "complaint_submitted", "sent")]
    assert all(row[column] is None for row in old for column in ("recipient", "subject", "body", "html"))
    assert all(row["updated_at"] < utcnow() - timedelta(days=730) for row in old)  # its dates stay
    recent = rows(notify.db_url, "select recipient from deliveries where tracking_number = 'BCDE-FGHJ-KMNP1'")
    assert sorted(crypto.decrypt(row["recipient"]) for row in recent) == ["+212612345678", "fatima@example.ma"]
    assert [row["status"] for row in call(notify, "deliveries", "ABCD-EFGH-JKMN0")] == ["sent", "sent"]
    assert notify_retention.main([]) == 0
    assert "erased the personal data of 0 deliveries" in capsys.readouterr().out


def test_the_retention_command_refuses_a_deployment_without_keys(database_url, monkeypatch, capsys):
    monkeypatch.delenv("PERSONAL_DATA_KEYS")
    monkeypatch.setenv("INTAKE_DATABASE_URL", database_url("intake"))
    assert intake_retention.main([]) == 1
    assert "nothing erased: PERSONAL_DATA_KEYS is not set" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        intake_retention.main(["--days", "0"])


def test_the_back_office_says_an_erased_complaint_was_erased(office, intake, var_dir, monkeypatch):
    add_account(office, "admin", "platform_admin")
    number = call(intake, "submit", valid_submission())["tracking_number"]
    execute(intake.db_url, "update complaints set status = 'closed', closed_reason = 'resolved', "
                           "closed_at = now() - interval '800 days'")
    monkeypatch.setenv("INTAKE_DATABASE_URL", intake.db_url)
    assert intake_retention.main([]) == 0
    page = sign_in(office, "admin").get(f"/backoffice/complaints/{number}?lang=fr")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Données personnelles effacées le" in text and "None" not in text


@pytest.fixture
def prosecution_office(prosecution, rabbit_config, var_dir, database_url):
    """The gateway with a clerk of TPI_RABAT (greffe.rabat) to sign in as."""
    from gateway.app import create_app
    app = create_app({"AMQP_URI": rabbit_config["AMQP_URI"], "TESTING": True, "WTF_CSRF_ENABLED": False,
                      "SECRET_KEY": "test-only-secret", "GATEWAY_DATABASE_URL": database_url("gateway")})
    app.extensions["accounts"].create_agent(
        username="greffe.rabat", full_name="greffe.rabat Test", role="prosecution_clerk", administration_code=None,
        password=PASSWORD, known_codes=set(), must_change_password=False, office_code="TPI_RABAT",
        known_offices={"TPI_RABAT"})
    yield app
    app.extensions["complaint_desk"].pool.close()
    app.extensions["accounts"].close()


def test_the_prosecution_office_says_an_erased_file_was_erased(prosecution_office, prosecution, monkeypatch):
    code = call(prosecution, "file_complaint", filing())["tracking_code"]
    execute(prosecution.db_url, "update complaints set status = 'filed_without_action', "
                                "decision_reason = 'no_offence', decided_at = now() - interval '800 days'")
    monkeypatch.setenv("PROSECUTION_DATABASE_URL", prosecution.db_url)
    assert prosecution_retention.main([]) == 0
    page = sign_in(prosecution_office, "greffe.rabat").get(f"/backoffice/prosecution/complaints/{code}?lang=fr")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Données personnelles effacées le" in text and "None" not in text


# --- who saw it

def test_a_prosecution_document_downloaded_by_staff_is_in_the_access_log(prosecution_office, prosecution, var_dir):
    code = call(prosecution, "file_complaint", filing(attachments=[stored_attachment(var_dir)]))["tracking_code"]
    [document] = call(prosecution, "track", code, "0612345678")["attachments"]
    before = utcnow()
    clerk = sign_in(prosecution_office, "greffe.rabat")
    download = clerk.get(f"/backoffice/prosecution/complaints/{code}/attachments/{document['id']}")
    assert download.status_code == 200 and download.data == PDF
    chief = {"id": "x", "name": "Chef", "role": "chief_prosecutor", "office_code": "TPI_RABAT"}
    [entry] = call(prosecution, "access_log", chief, code)
    assert (entry["action"], entry["actor_name"], entry["actor_role"]) == (
        "attachment", "greffe.rabat Test", "prosecution_clerk")
    assert datetime.fromisoformat(entry["at"]) >= before
