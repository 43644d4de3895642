"""The blob store keeps attachments whole, on the local directory and on an S3-compatible
server (moto in server mode) through the `minio` client: one contract, both backends."""
import uuid

import pytest
from minio import Minio

from services.common.blobs import BlobNotFound, LocalBlobStore, MinioBlobStore, blob_store
from tests.gateway_support import PDF

BIG = bytes(range(256)) * 4096  # 1 MiB, read back in several chunks


def minio_client(endpoint: str) -> Minio:
    return Minio(endpoint, access_key="testing", secret_key="testing", secure=False)


@pytest.fixture(params=["local", "minio"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    endpoint = request.getfixturevalue("s3_endpoint")
    return MinioBlobStore(minio_client(endpoint), f"test-{uuid.uuid4().hex[:12]}")


def test_a_blob_put_is_read_back_whole(store):
    store.put("attachments/scan", PDF, "application/pdf")
    store.put("attachments/big", BIG, "application/octet-stream")
    assert store.get("attachments/scan") == PDF
    with store.open("attachments/big") as handle:
        chunks = list(iter(lambda: handle.read(64 * 1024), b""))
    assert b"".join(chunks) == BIG and len(chunks) > 1


def test_putting_again_replaces_and_deleting_is_idempotent(store):
    store.put("attachments/letter", b"first", "application/pdf")
    store.put("attachments/letter", b"second", "application/pdf")
    assert store.get("attachments/letter") == b"second"
    store.delete("attachments/letter")
    store.delete("attachments/letter")  # deleting twice is harmless
    with pytest.raises(BlobNotFound):
        store.get("attachments/letter")
    with pytest.raises(BlobNotFound):
        store.open("attachments/never-stored")


def test_keys_that_could_escape_are_refused(store):
    for bad_key in ("../outside", "/etc/passwd", "attachments/../../x", ""):
        with pytest.raises(ValueError):
            store.put(bad_key, b"x", "text/plain")
        with pytest.raises(ValueError):
            store.open(bad_key)


def test_the_local_store_leaves_no_temporary_file(tmp_path):
    store = LocalBlobStore(tmp_path)
    store.put("attachments/abc", b"content", "application/pdf")
    assert [path.name for path in (tmp_path / "attachments").iterdir()] == ["abc"]


def test_the_s3_store_makes_its_bucket_and_keeps_the_content_type(s3_endpoint):
    client = minio_client(s3_endpoint)
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    store = MinioBlobStore(client, bucket)
    assert not client.bucket_exists(bucket)
    store.delete("attachments/nothing-yet")  # no bucket yet: nothing to delete, no error
    store.put("attachments/scan", PDF, "application/pdf")
    assert client.bucket_exists(bucket)
    assert client.stat_object(bucket, "attachments/scan").content_type == "application/pdf"
    # a second store (another gateway worker) finds the bucket there
    MinioBlobStore(client, bucket).put("attachments/other", b"x", "application/pdf")
    assert store.get("attachments/other") == b"x"


def test_the_backend_comes_from_the_environment(var_dir, s3_endpoint, monkeypatch):
    assert blob_store().root == var_dir / "blobs"
    monkeypatch.setenv("BLOB_BACKEND", "minio")
    monkeypatch.setenv("MINIO_ENDPOINT", s3_endpoint)
    monkeypatch.setenv("MINIO_ACCESS_KEY", "testing")
    monkeypatch.setenv("MINIO_SECRET_KEY", "testing")
    monkeypatch.setenv("MINIO_SECURE", "false")
    monkeypatch.setenv("MINIO_BUCKET", f"test-{uuid.uuid4().hex[:12]}")
    store = blob_store()
    assert isinstance(store, MinioBlobStore)
    store.put("attachments/scan", PDF, "application/pdf")
    assert store.get("attachments/scan") == PDF
    monkeypatch.setenv("BLOB_BACKEND", "floppy")
    with pytest.raises(ValueError, match="BLOB_BACKEND"):
        blob_store()
