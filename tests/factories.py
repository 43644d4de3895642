"""Valid inputs that tests change one field at a time."""
from datetime import datetime, timezone


def valid_submission(**overrides) -> dict:
    complainant = {
        "full_name": "Fatima Zahra El Amrani",
        "status": "citizen",
        "id_type": "cnie",
        "id_number": "BK123456",
        "email": None,
        "phone": "0612345678",
    }
    for key in list(overrides):
        if key in complainant:
            complainant[key] = overrides.pop(key)
    return {
        "type": "complaint",
        "administration_code": "CNSS",
        "subject": "Retard de versement de la pension",
        "description": "Ma pension de retraite n'a pas été versée depuis trois mois malgré mes relances.",
        "region": "CS",
        "language": "fr",
        "complainant": complainant,
        **overrides,
    }


def submitted_event_data(tracking_number: str = "ABCD-EFGH-JKMN0", **overrides) -> dict:
    """The data of a `complaint.submitted` event as intake would publish it (pass to make_event)."""
    submission = valid_submission(**{"phone": "+212612345678", **overrides})
    return {**submission, "tracking_number": tracking_number,
            "submitted_at": datetime.now(timezone.utc).isoformat()}


def lifecycle_event_data(tracking_number: str = "ABCD-EFGH-JKMN0", *, administration_code: str = "CNSS",
                         status: str = "in_progress", actor: str = "agent", language: str = "fr",
                         email: str | None = None, phone: str | None = "+212612345678", **fields) -> dict:
    """The data of a lifecycle event (complaint.answered, .closed, ...) as intake would publish
    it: pass the event's own `fields` too, then give it to make_event."""
    return {"tracking_number": tracking_number, "administration_code": administration_code,
            "type": "complaint", "region": "CS", "status": status, "actor": actor,
            "citizen": {"language": language, "email": email, "phone": phone}, **fields}


def complaint_snapshot(**overrides) -> dict:
    """The `complaint` block that complaint.transferred and complaint.reopened carry."""
    data = submitted_event_data(**overrides)
    return {key: data[key] for key in ("type", "subject", "description", "region", "language",
                                       "complainant", "submitted_at")}
