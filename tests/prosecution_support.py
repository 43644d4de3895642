"""What the prosecution tests share: a valid filing to change one field at a time, the staff
actors the service is told about, and the service started in a container (import the
`prosecution` fixture into a test module to use it)."""
import copy

import pytest

CLERK = {"id": "agent:1", "name": "Greffier Test", "role": "prosecution_clerk", "office_code": "TPI_RABAT"}

FILING = {
    "category": "theft",
    "facts_date": "2026-03-01",
    "facts_city": "RABAT",
    "facts_place": "Avenue Mohammed V, devant la poste",
    "account": "Mon téléphone et 300 dirhams m'ont été volés par un homme que je connais de vue.",
    "language": "fr",
    "complainant": {
        "status": "citizen", "id_type": "cnie", "id_number": "BK123456",
        "first_name": "Fatima Zahra", "last_name": "El Amrani", "birth_date": "1985-04-12",
        "nationality": "marocaine", "address": "12 rue des Orangers, Hay Riad, Rabat", "country": "Maroc",
        "phone": "0612345678", "email": "fatima@example.ma",
    },
    "accused": [
        {"kind": "natural_person", "first_name": "Karim", "last_name": "Bennani",
         "description": "vendeur au marché central"},
        {"kind": "legal_person", "legal_name": "Société Atlas Services SARL", "commercial_register": "RC 98765"},
    ],
}


def filing(**overrides) -> dict:
    data = copy.deepcopy(FILING)
    data.update(overrides)
    return data


@pytest.fixture
def prosecution(start_service, var_dir):
    """The service on this test's vhost, with a fresh database and the shipped courts."""
    from services.prosecution.service import ProsecutionService
    return start_service(ProsecutionService)
