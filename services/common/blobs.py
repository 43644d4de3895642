"""The blob-store adapter: where attachments live.

Two backends behind the same methods: a directory under var/ (`BLOB_DIR`, the embedded
default) and an S3-compatible store (MinIO in production) through the `minio` client.  Keys
look like `attachments/<uuid4>` and never come from a client.  The content type is kept by
whoever records the key (intake's attachment rows); the S3 backend also stores it on the
object, for operators browsing the bucket.
"""
import io
import os
import re
import tempfile
import uuid
from pathlib import Path
from typing import BinaryIO

from minio import Minio
from minio.error import S3Error

from services.common import config

_KEY = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_.-]+)*$")


def new_attachment_key() -> str:
    return f"attachments/{uuid.uuid4()}"


def checked_key(key: str) -> str:
    if not _KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"not a blob key: {key!r}")
    return key


class BlobNotFound(KeyError):
    pass


class LocalBlobStore:
    """Blobs as files in one directory tree."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / checked_key(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._write_atomically(path, data)

    def get(self, key: str) -> bytes:
        with self.open(key) as handle:
            return handle.read()

    def open(self, key: str) -> BinaryIO:
        """The blob as a file to read in chunks and close; BlobNotFound at once if it is missing."""
        try:
            return self._path(key).open("rb")
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


class MinioBlobStore:
    """Blobs as objects in one bucket of an S3-compatible store.  The bucket is made on the
    first put that finds it missing, so a fresh MinIO needs no setup step."""

    def __init__(self, client: Minio, bucket: str):
        self.client = client
        self.bucket = bucket

    @classmethod
    def from_environment(cls) -> "MinioBlobStore":
        client = Minio(os.environ["MINIO_ENDPOINT"],
                       access_key=os.environ.get("MINIO_ACCESS_KEY"),
                       secret_key=os.environ.get("MINIO_SECRET_KEY"),
                       secure=os.environ.get("MINIO_SECURE", "true").lower() in ("1", "true", "yes"))
        return cls(client, os.environ.get("MINIO_BUCKET", "chikaya-attachments"))

    def put(self, key: str, data: bytes, content_type: str) -> None:
        checked_key(key)
        try:
            self._put(key, data, content_type)
        except S3Error as exc:
            if exc.code != "NoSuchBucket":
                raise
            self._make_bucket()
            self._put(key, data, content_type)

    def _put(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(self.bucket, key, io.BytesIO(data), len(data), content_type=content_type)

    def _make_bucket(self) -> None:
        try:
            self.client.make_bucket(self.bucket)
        except S3Error as exc:
            if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise  # another worker making it at the same moment is fine

    def get(self, key: str) -> bytes:
        with self.open(key) as handle:
            return handle.read()

    def open(self, key: str) -> BinaryIO:
        """The object as a file to read in chunks and close (which hands the connection back);
        BlobNotFound at once if it is missing."""
        try:
            response = self.client.get_object(self.bucket, checked_key(key))
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchBucket"):
                raise BlobNotFound(key) from None
            raise
        return _ObjectReader(response)

    def delete(self, key: str) -> None:
        try:
            self.client.remove_object(self.bucket, checked_key(key))  # S3: a missing key is no error
        except S3Error as exc:
            if exc.code != "NoSuchBucket":
                raise


class _ObjectReader(io.RawIOBase):
    """A streamed S3 response as a plain binary file."""

    def __init__(self, response):
        self._response = response

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self._response.readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            self._response.close()
            self._response.release_conn()
        super().close()


def blob_store():
    """The backend named by `BLOB_BACKEND`: `local` (the default) or `minio`."""
    backend = os.environ.get("BLOB_BACKEND", "local")
    if backend == "local":
        return LocalBlobStore(config.blob_dir())
    if backend == "minio":
        return MinioBlobStore.from_environment()
    raise ValueError(f"unknown BLOB_BACKEND {backend!r}; expected 'local' or 'minio'")
