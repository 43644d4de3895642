"""Attachments: accepted by what their bytes are, never by their name or the type the
browser claims, then stored in the blob store.

`filetype` reads the magic bytes.  Office files are zip archives: it names them docx, xlsx,
pptx, odt, ods or odp only when the archive holds the members those formats open with, so a
plain zip, or an executable renamed `.pdf`, is refused.  Legacy .doc/.xls/.ppt are OLE files
that it recognises from their internal markers.

An office zip is also read for what it would become once opened, from the sizes its own
directory declares (nothing is decompressed here): a "zip bomb", a few hundred kilobytes that
unpack to gigabytes in the agent's office suite, is refused.
"""
import hashlib
import io
import unicodedata
import zipfile
from dataclasses import dataclass

import filetype

from services.common.blobs import new_attachment_key

ALLOWED_TYPES = {
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/apng",
    "image/webp",
    "image/gif",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
}
MAX_FILENAME = 200
# other usual endings of a type whose extension (filetype's) is the key
EXTENSION_ALIASES = {"jpg": ("jpeg", "jpe", "jfif"), "apng": ("png",)}
ZIP_SIGNATURE = b"PK\x03\x04"
# What an office zip may declare once unpacked: real documents stay far below both (text
# compresses about ten times, pictures not at all); a file of zeros packs a thousand times.
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_PACKING_RATIO = 100


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def clean_filename(raw: str) -> str:
    """The name to show an agent: no folders, no control characters, not too long."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    # no control, format (right-to-left override) or private characters; no hidden file nor `..`
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().lstrip(". ")
    if len(name) > MAX_FILENAME:
        stem, dot, extension = name.rpartition(".")
        name = (stem[:MAX_FILENAME - len(extension) - 1] + dot + extension) if dot and len(extension) < 10 \
            else name[:MAX_FILENAME]
    return name


def read_uploads(files, max_bytes: int, max_count: int) -> tuple[list[Upload], list]:
    """The acceptable files, and the problems (`(code, params)`) with the others.

    `files` are werkzeug FileStorage objects; a file input left empty sends a part with no
    name, which is not a file.
    """
    chosen = [storage for storage in files if storage.filename]
    if len(chosen) > max_count:
        return [], ["too_many_files"]
    accepted, problems = [], []
    for storage in chosen:
        filename = clean_filename(storage.filename) or "attachment"
        data = storage.stream.read(max_bytes + 1)
        problem = _problem_with(data, max_bytes)
        if problem:
            problems.append((problem, {"filename": filename}))
            continue
        kind = filetype.guess(data)
        accepted.append(Upload(filename=clean_filename(with_true_extension(filename, kind.extension)),
                               content_type=kind.mime, data=data))
    return accepted, problems


def with_true_extension(name: str, extension: str) -> str:
    """The name ending with its content's extension, so that whoever saves it gets a file their
    computer opens for what it is (`scan.pdf.exe`, a PDF, is saved as `scan.pdf.exe.pdf`)."""
    same = {extension, *EXTENSION_ALIASES.get(extension, ())}
    return name if name.rpartition(".")[2].lower() in same else f"{name}.{extension}"


def _problem_with(data: bytes, max_bytes: int) -> str | None:
    """Why these bytes are refused (an error code), or None."""
    if not data:
        return "file_empty"
    if len(data) > max_bytes:
        return "file_too_large"
    kind = filetype.guess(data)
    if kind is None or kind.mime not in ALLOWED_TYPES:
        return "file_type_not_allowed"
    if data.startswith(ZIP_SIGNATURE):
        return _zip_problem(data)
    return None


def _zip_problem(data: bytes) -> str | None:
    """An office zip's problem: unreadable, or declaring far more than a document unpacks to."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError):
        return "file_type_not_allowed"
    if unpacked > MAX_UNPACKED_BYTES or unpacked > MAX_PACKING_RATIO * len(data):
        return "file_unpacks_too_large"
    return None


def store_uploads(blobs, uploads: list[Upload]) -> list[dict]:
    """Put each file in the blob store; the attachment entries intake records.

    If one put fails, the ones already stored are deleted before the error goes on.
    """
    attachments = []
    try:
        for upload in uploads:
            key = new_attachment_key()
            blobs.put(key, upload.data, upload.content_type)
            attachments.append({"blob_key": key, "filename": upload.filename,
                                "content_type": upload.content_type, "size": upload.size,
                                "sha256": upload.sha256})
    except BaseException:
        discard(blobs, attachments)
        raise
    return attachments


def discard(blobs, attachments: list[dict]) -> None:
    for attachment in attachments:
        blobs.delete(attachment["blob_key"])
