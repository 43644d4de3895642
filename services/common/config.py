"""Settings from the environment, with embedded defaults that run on one laptop.

Every setting is read when it is needed, so tests and the launcher can set the
environment before a service starts.  `.env.example` lists them all.
"""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def var_dir() -> Path:
    """Where embedded defaults keep their data (SQLite files, blobs, outbox logs)."""
    path = Path(os.environ.get("CHIKAYA_VAR_DIR", ROOT / "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def amqp_uri() -> str:
    return os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")


def database_url(service: str) -> str:
    """`<SERVICE>_DATABASE_URL`, else a SQLite file of the service's own under var/."""
    url = os.environ.get(f"{service.upper()}_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{var_dir() / (service + '.db')}"


def blob_dir() -> Path:
    path = Path(os.environ.get("BLOB_DIR", var_dir() / "blobs"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def outbox_dir() -> Path:
    """Where the embedded SMS and e-mail adapters write the messages they would send."""
    path = Path(os.environ.get("NOTIFY_OUTBOX_DIR", var_dir() / "outbox"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def public_base_url() -> str:
    """The address citizens reach the portal on, used in links inside messages."""
    return os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:%s" % os.environ.get("PORT", "8080"))


def twilio_status_callback_url() -> str:
    """Where Twilio reports each SMS's fate: the gateway's webhook at the public address.  notify
    gives it to Twilio with every SMS; the gateway checks Twilio's signature against it."""
    return (os.environ.get("TWILIO_STATUS_CALLBACK_URL")
            or public_base_url().rstrip("/") + "/webhooks/twilio/status")



def kept_secret(name: str, make) -> bytes:
    """A secret of the embedded default, made once by `make()` (bytes) and kept in var/<name>
    (0600), so that every process and restart of the laptop platform shares it.  Processes
    starting together race to make it: the first file linked into place wins."""
    path = var_dir() / name
    if not path.exists():
        candidate = path.with_name(f".{name}.{os.getpid()}")
        candidate.write_bytes(make())
        candidate.chmod(0o600)
        try:
            os.link(candidate, path)  # fails if another process got there first; theirs wins
        except FileExistsError:
            pass
        finally:
            candidate.unlink()
    return path.read_bytes().strip()
