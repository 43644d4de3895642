"""Attachments: accepted by what their bytes are, never by their name or the type the
browser claims, then stored in the blob store.

`filetype` reads the magic bytes.  Office files are zip archives: it names them docx, xlsx,
pptx, odt, ods or odp only when the archive holds the members those formats open with, so a
plain zip, or an executable renamed `.pdf`, is refused.  Legacy .doc/.xls/.ppt are OLE files
that it recognises from their internal markers.
"""
import hashlib
import unicodedata
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
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
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
        if len(data) > max_bytes:
            problems.append(("file_too_large", {"filename": filename}))
            continue
        kind = filetype.guess(data)
        if kind is None or kind.mime not in ALLOWED_TYPES:
            problems.append(("file_type_not_allowed", {"filename": filename}))
            continue
        accepted.append(Upload(filename=filename, content_type=kind.mime, data=data))
    return accepted, problems


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
