"""Every message the gateway can show exists in Arabic and French, and the catalogs compile."""
import os
import shutil
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from gateway import errors, labels
from gateway.i18n import compile_catalogs
from services.intake import domain

GATEWAY = Path(__file__).resolve().parents[1] / "gateway"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}


def extracted_messages() -> set[str]:
    with (GATEWAY / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = set()
    for _filename, _line, message, _comments, _context in extract_from_dir(
            str(GATEWAY), method_map, options_map, keywords=KEYWORDS):
        found.update(message if isinstance(message, tuple) else (message,))
    return found


def test_every_message_has_an_arabic_and_a_french_translation():
    messages = extracted_messages()
    assert len(messages) > 100  # the extraction did look at the templates and the code
    for language in ("ar", "fr"):
        with (GATEWAY / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
            catalog = read_po(po)
        untranslated = sorted(message for message in messages
                              if message not in catalog or not catalog[message].string
                              or catalog[message].fuzzy)
        assert untranslated == [], f"{language}: no translation for {untranslated}"


def test_catalogs_compile_when_missing_or_older_than_their_source(tmp_path):
    copy = tmp_path / "translations"
    shutil.copytree(GATEWAY / "translations", copy, ignore=shutil.ignore_patterns("*.mo"))
    assert sorted(path.parts[-3] for path in compile_catalogs(copy)) == ["ar", "fr"]
    assert compile_catalogs(copy) == []  # up to date: nothing to do
    french = copy / "fr" / "LC_MESSAGES" / "messages.po"
    later = (copy / "fr" / "LC_MESSAGES" / "messages.mo").stat().st_mtime + 10
    os.utime(french, (later, later))
    assert [path.parts[-3] for path in compile_catalogs(copy)] == ["fr"]


def test_every_code_the_services_use_has_a_label():
    assert set(labels.REQUEST_TYPES) == set(domain.REQUEST_TYPES)
    assert set(labels.COMPLAINANT_STATUSES) == set(domain.COMPLAINANT_STATUSES)
    assert set(labels.ID_TYPES) == set(domain.ID_TYPES)
    assert set(labels.STATUSES) == set(labels.TIMELINE_STATUSES) == set(domain.STATUSES)
    assert set(labels.CLOSE_REASONS) == set(domain.CLOSE_REASONS)


def test_every_validation_code_of_intake_has_a_sentence():
    codes = {"required", "too_short", "too_long", "invalid_choice", "invalid_email", "invalid_phone",
             "invalid_id_number", "contact_required", "too_many_files", "invalid"}
    assert codes | {"file_too_large", "file_type_not_allowed"} <= set(errors.FIELD_MESSAGES)
