"""The blob-store adapter: where attachments live.

The embedded default is a directory under var/ (`BLOB_DIR`); MinIO/S3 will come behind the
same three methods.  Keys look like `attachments/<uuid4>` and never come from a client.
"""
import os
import re
import tempfile
import uuid
from pathlib import Path

from services.common import config

_KEY = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_.-]+)*$")


def new_attachment_key() -> str:
    return f"attachments/{uuid.uuid4()}"


class BlobNotFound(KeyError):
    pass


class LocalBlobStore:
    """Blobs as files in one directory tree.  The content type is kept by whoever records the
    key (intake's attachment rows), so this backend does not store it."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not _KEY.match(key) or ".." in key.split("/"):
            raise ValueError(f"not a blob key: {key!r}")
        return self.root / key

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._write_atomically(path, data)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    @staticmethod
    def _write_atomically(path: Path, data: bytes) -> None:
        """A reader sees the whole blob or none of it, never a half-written file."""
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise


def blob_store():
    """The backend named by `BLOB_BACKEND` (only `local` for now)."""
    backend = os.environ.get("BLOB_BACKEND", "local")
    if backend == "local":
        return LocalBlobStore(config.blob_dir())
    raise ValueError(f"unknown BLOB_BACKEND {backend!r}; expected 'local'")
