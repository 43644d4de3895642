"""The Flask gateway: citizen pages in Arabic and French, and the JSON API /api/v1.

Settings come from the environment (see `settings_from_environment`); `create_app`
takes overrides on top, which is how tests point it at their own broker vhost.
"""
import os
import secrets

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from gateway import api, web
from gateway.complaints import ComplaintDesk
from gateway.errors import register_error_handlers
from gateway.i18n import init_i18n
from gateway.rpc import RpcPool
from services.common import config
from services.common.blobs import blob_store

MIB = 1024 * 1024
csrf = CSRFProtect()


def persistent_secret_key() -> str:
    """A key made once and kept under var/, so restarts (and every gunicorn worker) share
    sessions without anyone writing a secret into the code."""
    path = config.var_dir() / "gateway-secret-key"
    if not path.exists():
        candidate = path.with_name(f".{path.name}.{os.getpid()}")
        candidate.write_text(secrets.token_urlsafe(48))
        candidate.chmod(0o600)
        try:
            os.link(candidate, path)  # fails if another worker got there first; theirs wins
        except FileExistsError:
            pass
        finally:
            candidate.unlink()
    return path.read_text().strip()


def settings_from_environment() -> dict:
    max_attachment_bytes = int(os.environ.get("MAX_ATTACHMENT_BYTES", 5 * MIB))
    max_attachments = int(os.environ.get("MAX_ATTACHMENTS", 5))
    return {
        "AMQP_URI": config.amqp_uri(),
        "RPC_TIMEOUT": float(os.environ.get("RPC_TIMEOUT", 10)),
        "ADMINISTRATIONS_CACHE_SECONDS": float(os.environ.get("ADMINISTRATIONS_CACHE_SECONDS", 60)),
        "MAX_ATTACHMENT_BYTES": max_attachment_bytes,
        "MAX_ATTACHMENTS": max_attachments,
        # every file at its largest, plus room for the text fields and multipart framing
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH",
                                                 max_attachments * max_attachment_bytes + MIB)),
        "SESSION_COOKIE_SAMESITE": "Lax",
    }


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(settings_from_environment())
    app.config.update(overrides or {})
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY") or persistent_secret_key()

    init_i18n(app)
    csrf.init_app(app)
    csrf.exempt(api.blueprint)
    register_error_handlers(app)

    pool = RpcPool(app.config["AMQP_URI"], timeout=app.config["RPC_TIMEOUT"])
    app.extensions["complaint_desk"] = ComplaintDesk(
        pool, blob_store(), administrations_ttl=app.config["ADMINISTRATIONS_CACHE_SECONDS"],
        max_attachment_bytes=app.config["MAX_ATTACHMENT_BYTES"],
        max_attachments=app.config["MAX_ATTACHMENTS"])

    app.register_blueprint(api.blueprint)
    app.register_blueprint(web.blueprint)
    app.after_request(_security_headers)
    return app


def _security_headers(response):
    # every resource is served from here: no external script, style or font
    response.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response
