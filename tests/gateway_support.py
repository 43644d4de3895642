"""Fixtures of the gateway tests: the Flask app talking to the real intake and routing
services (conftest's `intake` and `routing` containers) on this test's vhost.

conftest.py registers this module as a plugin, so its fixtures need no import.
"""
import io
import re

import pytest
from werkzeug.datastructures import MultiDict

from gateway.app import create_app
from tests.helpers import rows

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
       b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
       b"\x00\x00\x00IEND\xaeB`\x82")
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00" * 4


@pytest.fixture
def app(intake, routing, rabbit_config, var_dir):
    app = create_app({"AMQP_URI": rabbit_config["AMQP_URI"], "TESTING": True,
                      "WTF_CSRF_ENABLED": False, "SECRET_KEY": "test-only-secret"})
    yield app
    app.extensions["complaint_desk"].pool.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def gateway_apps(rabbit_config, var_dir):
    """`gateway_apps(**settings)`: a gateway app on this test's vhost (the tests' settings, then
    `settings`); every app made is closed at the end of the test."""
    apps = []

    def make(**overrides):
        app = create_app({"AMQP_URI": rabbit_config["AMQP_URI"], "TESTING": True, "WTF_CSRF_ENABLED": False,
                          "SECRET_KEY": "test-only-secret", **overrides})
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["complaint_desk"].pool.close()
        app.extensions["accounts"].close()


def complaints_in_intake(intake) -> list:
    return rows(intake.db_url, "select * from complaints")


def stored_blobs(var_dir) -> list:
    return [path for path in (var_dir / "blobs").rglob("*") if path.is_file()]


def form_fields(**overrides) -> dict:
    """What a browser sends for a filled, valid filing form (dotted field names)."""
    fields = {
        "type": "complaint", "administration_code": "CNSS",
        "subject": "Retard de versement de la pension",
        "description": "Ma pension de retraite n'a pas été versée depuis trois mois malgré mes relances.",
        "region": "CS", "language": "fr",
        "complainant.full_name": "Fatima Zahra El Amrani", "complainant.status": "citizen",
        "complainant.id_type": "cnie", "complainant.id_number": "BK123456",
        "complainant.email": "", "complainant.phone": "06 12 34 56 78",
        "client_reference": "7f1c2a9e-0b7d-4a53-9a55-1d0f1e2c3b4a",
    }
    fields.update(overrides)
    return fields


def field_error(html: str, field_id: str) -> str:
    """The error text shown next to a field, or '' if there is none."""
    found = re.search(rf'<p class="field-error" id="{re.escape(field_id)}-error">(.*?)</p>', html, re.S)
    return re.sub(r"<[^>]+>", " ", found.group(1)).strip() if found else ""


def multipart(submission: dict, files=()) -> MultiDict:
    """A submission as a multipart form: dotted field names, files named `attachments`."""
    fields = MultiDict()
    for key, value in submission.items():
        if isinstance(value, dict):
            for inner, inner_value in value.items():
                if inner_value is not None:
                    fields.add(f"{key}.{inner}", inner_value)
        else:
            fields.add(key, value)
    for content, name in files:
        fields.add("attachments", (io.BytesIO(content), name))
    return fields
