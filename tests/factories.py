"""Valid inputs that tests change one field at a time."""


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
