"""Hostile attachments, sent through the citizen's web form and the JSON API of the real gateway
(intake and routing running): each one is either refused with a clear error in Arabic and in
French and nothing reaches the blob store, or stored under a key of our own and served back only
as a download no browser runs.  (gateway/uploads.py holds the checks; tests/test_gateway_uploads.py
the ordinary files.)

`-s` prints how many hostile attachments were tried.
"""
import io
import zipfile
from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage

from gateway.downloads import safe_content_type
from gateway.uploads import MAX_FILENAME, read_uploads
from tests.factories import valid_submission
from tests.gateway_support import (EXE, PDF, PNG, complaints_in_intake, field_error, form_fields, multipart,
                                   stored_blobs)

PHONE = "0612345678"
MIB = 1024 * 1024
BOMB_UNPACKED = 300 * MIB
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'
# a file that opens as a PDF and, sniffed as a page, would run its script
POLYGLOT = PDF + b"<html><body><script>alert(document.cookie)</script></body></html>\n"


def zip_bomb_docx() -> bytes:
    """A .docx whose document member unpacks to BOMB_UNPACKED bytes of zeros, written a chunk at a
    time (never all of it in memory) at compression level 9: about 300 KB on the wire."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("_rels/.rels", b"<Relationships/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            chunk = bytes(MIB)
            for _ in range(BOMB_UNPACKED // MIB):
                member.write(chunk)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return zip_bomb_docx()


# What a citizen reads for each refusal (a piece of the sentence, in each language).
REFUSALS = {
    "file_too_large": {"fr": "est trop volumineux", "ar": "كبير جدا"},
    "file_empty": {"fr": "est vide", "ar": "فارغ"},
    "file_type_not_allowed": {"fr": "n’est pas accepté : envoyez un PDF", "ar": "غير مقبول: أرسل ملف PDF"},
    "file_unpacks_too_large": {"fr": "une fois ouvert, il occuperait bien plus de place",
                               "ar": "عند فتحه سيشغل مساحة أكبر بكثير"},
    "too_many_files": {"fr": "Vous pouvez joindre au plus 5 fichiers", "ar": "الحد الأقصى لعدد الملفات المرفقة هو 5"},
}


def refused_cases(app, bomb) -> dict:
    """name: (files as (content, name) pairs, the refusal's code)."""
    limit = app.config["MAX_ATTACHMENT_BYTES"]
    return {
        "oversized": ([(PDF + b"0" * limit, "releve.pdf")], "file_too_large"),
        "empty": ([(b"", "vide.pdf")], "file_empty"),
        "html named .pdf": ([(HTML, "facture.pdf")], "file_type_not_allowed"),
        "executable named .jpg": ([(EXE, "photo.jpg")], "file_type_not_allowed"),
        "executable named .pdf": ([(EXE, "scan.pdf")], "file_type_not_allowed"),
        "svg with a script named .png": ([(SVG, "image.png")], "file_type_not_allowed"),
        "zip bomb in a .docx": ([(bomb, "lettre.docx")], "file_unpacks_too_large"),
        "too many files": ([(PDF, f"piece-{n}.pdf") for n in range(app.config["MAX_ATTACHMENTS"] + 1)],
                           "too_many_files"),
        "one good file with a bad one": ([(PDF, "bon.pdf"), (HTML, "page.pdf")], "file_type_not_allowed"),
    }


def test_a_refused_attachment_is_explained_in_each_language_and_nothing_is_kept(app, client, intake, var_dir,
                                                                                bomb, capsys):
    tried = 0
    for case, (files, code) in refused_cases(app, bomb).items():
        for language, expected in REFUSALS[code].items():
            form = client.post(f"/complaints/new?lang={language}",
                               data=multipart(form_fields(), files=files))
            assert form.status_code == 400, case
            assert expected in field_error(form.get_data(as_text=True), "attachments"), (case, language)

            api = client.post(f"/api/v1/complaints?lang={language}",
                              data=multipart(valid_submission(phone=PHONE), files=files))
            assert api.status_code == 400, case
            assert api.json["error"] == "validation_failed" and list(api.json["fields"]) == ["attachments"], case
            assert any(expected in message for message in api.json["fields"]["attachments"]), (case, language)
            tried += 2
        assert stored_blobs(var_dir) == [], case
    assert complaints_in_intake(intake) == []
    with capsys.disabled():
        print(f"\nhostile attachments refused: {tried} submissions ({len(refused_cases(app, bomb))} cases "
              f"× ar, fr × web form, JSON API)")


# name sent: the content, what the agent and the citizen see as the file's name
STORED = {
    "polyglot.pdf": (POLYGLOT, "polyglot.pdf"),
    "../../../etc/passwd.pdf": (PDF, "passwd.pdf"),
    # the multipart quoting drops the backslashes before the folders could be cut off
    "..\\..\\windows\\system32\\drivers.pdf": (PDF, "windowssystem32drivers.pdf"),
    "rap\x07port\x1b[31m\x7f.pdf": (PDF, "rapport[31m.pdf"),
    "facture\u202efdp.exe": (PDF, "facturefdp.exe.pdf"),  # shown as "facture" + "exe.pdf" reversed
    "\u202e\u2066\u200f\x00": (PNG, "attachment.png"),  # nothing visible
    "..": (PDF, "attachment.pdf"),
    "x" * 296 + ".pdf": (PDF, "x" * (MAX_FILENAME - 4) + ".pdf"),
    "document.pdf": (PNG, "document.pdf.png"),  # an image is saved as an image
}


def test_what_is_kept_is_stored_under_our_own_key_and_served_only_as_a_download(app, client, var_dir, capsys):
    response = client.post("/api/v1/complaints", data=multipart(
        valid_submission(phone=PHONE), files=[(content, name) for name, (content, _shown) in list(STORED.items())[:4]]))
    assert response.status_code == 201, response.json
    second = client.post("/api/v1/complaints", data=multipart(
        valid_submission(phone=PHONE), files=[(content, name) for name, (content, _shown) in list(STORED.items())[4:]]))
    assert second.status_code == 201, second.json

    receipts = []
    for filed in (response, second):
        number = filed.json["tracking_number"]
        receipts += [(number, receipt) for receipt in
                     client.get(f"/api/v1/complaints/{number}?contact={PHONE}").json["attachments"]]
    assert [receipt["filename"] for _number, receipt in receipts] == [shown for _content, shown in STORED.values()]

    blobs = stored_blobs(var_dir)
    assert len(blobs) == len(STORED)
    for path in blobs:
        relative = path.relative_to(var_dir / "blobs")
        assert relative.parts[0] == "attachments" and relative.parts.count("..") == 0
        assert not any(part in str(relative) for part in ("passwd", "drivers", "facture", "xxxx", "polyglot"))
    assert sorted(path.read_bytes() for path in blobs) == sorted(content for content, _shown in STORED.values())

    for (number, receipt), (content, shown) in zip(receipts, STORED.values()):
        link = client.get(f"/api/v1/complaints/{number}/attachments/{receipt['id']}?contact={PHONE}")
        download = client.get(link.headers["Location"])
        assert download.status_code == 200 and download.data == content, shown
        assert download.headers["Content-Type"] == safe_content_type(download.headers["Content-Type"])
        assert download.headers["Content-Type"] in ("application/pdf", "image/png"), shown
        assert download.headers["Content-Disposition"].startswith("attachment; filename=\""), shown
        fallback = download.headers["Content-Disposition"].split('"')[1]
        assert "/" not in fallback and "\\" not in fallback and fallback.isprintable() and fallback.isascii()
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        policy = download.headers["Content-Security-Policy"]
        assert "sandbox" in policy and "default-src 'none'" in policy and "script-src" not in policy
    with capsys.disabled():
        print(f"\nhostile attachments stored safely: {len(STORED)} (named, stored and downloaded)")


def test_a_zip_bomb_is_judged_on_its_declared_sizes_without_unpacking_it(bomb, monkeypatch):
    def never(*_args, **_kwargs):
        raise AssertionError("the check unpacked a member")

    monkeypatch.setattr(zipfile.ZipFile, "open", never)
    monkeypatch.setattr(zipfile.ZipFile, "read", never)
    accepted, problems = read_uploads([FileStorage(io.BytesIO(bomb), filename="lettre.docx")], 5 * MIB, 5)
    assert len(bomb) < MIB and accepted == []
    assert problems == [("file_unpacks_too_large", {"filename": "lettre.docx"})]


def test_an_office_file_whose_directory_cannot_be_read_is_refused():
    truncated = zip_directory_cut(Path(__file__).with_name("test_gateway_uploads.py"))
    accepted, problems = read_uploads([FileStorage(io.BytesIO(truncated), filename="lettre.docx")], 5 * MIB, 5)
    assert accepted == [] and problems == [("file_type_not_allowed", {"filename": "lettre.docx"})]


def zip_directory_cut(any_file: Path) -> bytes:
    """A .docx that filetype recognises from its first members but whose central directory is gone."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("_rels/.rels", b"<Relationships/>")
        archive.writestr("word/document.xml", any_file.read_bytes())
    whole = buffer.getvalue()
    return whole[:whole.rindex(b"PK\x01\x02")]
