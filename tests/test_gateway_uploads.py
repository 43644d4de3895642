"""Attachments are judged by their bytes (tests/test_blobs.py: the stores that keep them)."""
import io
import zipfile

import pytest
from werkzeug.datastructures import FileStorage

from gateway.uploads import clean_filename, read_uploads, store_uploads
from services.common.blobs import LocalBlobStore
from tests.gateway_support import EXE, PDF, PNG

LIMIT = 64 * 1024
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def office_zip(*members: tuple[str, bytes], stored_first: bool = False) -> bytes:
    """A zip laid out as office suites write theirs (OpenDocument's `mimetype` comes first, uncompressed)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, (name, content) in enumerate(members):
            kind = zipfile.ZIP_STORED if stored_first and number == 0 else zipfile.ZIP_DEFLATED
            archive.writestr(name, content, compress_type=kind)
    return buffer.getvalue()


def ooxml(folder: str, main: str) -> bytes:
    return office_zip(("[Content_Types].xml", b"<Types/>"), ("_rels/.rels", b"<Relationships/>"),
                      (f"{folder}/{main}", b"<document/>"))


def opendocument(mime: str) -> bytes:
    return office_zip(("mimetype", mime.encode()), ("content.xml", b"<office:document-content/>"),
                      stored_first=True)


ACCEPTED = {
    "scan.pdf": (PDF, "application/pdf"),
    "photo.png": (PNG, "image/png"),
    "photo.jpg": (JPEG, "image/jpeg"),
    "anim.gif": (GIF, "image/gif"),
    "photo.webp": (WEBP, "image/webp"),
    "letter.docx": (ooxml("word", "document.xml"),
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "table.xlsx": (ooxml("xl", "workbook.xml"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "slides.pptx": (ooxml("ppt", "presentation.xml"),
                    "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    "letter.odt": (opendocument("application/vnd.oasis.opendocument.text"), "application/vnd.oasis.opendocument.text"),
    "table.ods": (opendocument("application/vnd.oasis.opendocument.spreadsheet"),
                  "application/vnd.oasis.opendocument.spreadsheet"),
    "old.doc": (OLE + b"\x00" * 504 + b"\xec\xa5\xc1\x00" + b"\x00" * 64, "application/msword"),
}

REFUSED = {
    "renamed-program.pdf": EXE,
    "words.pdf": b"This is plain text pretending to be a PDF document.",
    "archive.docx": office_zip(("notes.txt", b"hello"), ("payload.bin", bytes(range(256)))),
    "page.pdf": b"<html><script>alert(1)</script></html>",
}


def files(*pairs):
    return [FileStorage(io.BytesIO(content), filename=name) for name, content in pairs]


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_documents_and_images_are_accepted_by_their_content(name):
    content, mime = ACCEPTED[name]
    [upload], problems = read_uploads(files((name, content)), LIMIT, 5)
    assert problems == []
    assert (upload.filename, upload.content_type, upload.data) == (name, mime, content)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_anything_else_is_refused_whatever_its_name(name):
    accepted, problems = read_uploads(files((name, REFUSED[name])), LIMIT, 5)
    assert accepted == []
    assert problems == [("file_type_not_allowed", {"filename": name})]


def test_a_real_image_with_a_misleading_name_is_kept_with_its_true_type():
    [upload], _problems = read_uploads(files(("document.pdf", PNG)), LIMIT, 5)
    assert upload.content_type == "image/png"


def test_size_and_count_limits():
    accepted, problems = read_uploads(files(("big.pdf", PDF + b"0" * LIMIT), ("ok.pdf", PDF)), LIMIT, 5)
    assert [upload.filename for upload in accepted] == ["ok.pdf"]
    assert problems == [("file_too_large", {"filename": "big.pdf"})]
    accepted, problems = read_uploads(files(*[(f"{n}.pdf", PDF) for n in range(6)]), LIMIT, 5)
    assert accepted == [] and problems == ["too_many_files"]


def test_an_empty_file_input_is_no_file():
    assert read_uploads([FileStorage(io.BytesIO(b""), filename="")], LIMIT, 5) == ([], [])


def test_file_names_lose_folders_and_control_characters():
    assert clean_filename("C:\\Users\\fatima\\شكاية.pdf") == "شكاية.pdf"
    assert clean_filename("../../etc/passwd") == "passwd"
    assert clean_filename("bad\x00name\n.pdf") == "badname.pdf"
    long_name = clean_filename("x" * 300 + ".pdf")
    assert len(long_name) == 200 and long_name.endswith(".pdf")


def test_stored_uploads_describe_themselves_for_intake(tmp_path):
    store = LocalBlobStore(tmp_path)
    uploads, _problems = read_uploads(files(("scan.pdf", PDF)), LIMIT, 5)
    [attachment] = store_uploads(store, uploads)
    assert attachment["blob_key"].startswith("attachments/")
    assert attachment["size"] == len(PDF) and len(attachment["sha256"]) == 64
    assert store.get(attachment["blob_key"]) == PDF

