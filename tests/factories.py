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
