"""The Flask gateway: citizen pages in Arabic and French, the JSON API /api/v1, and the
administrations' back office (/backoffice) and agent API (/api/v1/agent).

Settings come from the environment (see `settings_from_environment`); `create_app`
takes overrides on top, which is how tests point it at their own broker vhost.
"""
import fcntl
import os
import secrets

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from gateway import agent_api, api, backoffice, downloads, open311, openapi, web, webhooks
from gateway import prosecution_api, prosecution_office, prosecution_web
from gateway import portal, statistics
from gateway.accounts import Accounts, LoginThrottle
from gateway.captcha import CaptchaDesk
from gateway.casework import Casework
from gateway.complaints import ComplaintDesk
from gateway.demo import demo_wanted, embedded_default, ensure_demo_accounts
from gateway.errors import register_error_handlers
from gateway.i18n import init_i18n
from gateway.observability import init_observability
from gateway.prosecution import ProsecutionDesk
from gateway.ratelimit import init_rate_limits
from gateway.readiness import BrokerCheck
from gateway.rpc import RpcPool
from services.common import config
from services.common.blobs import blob_store

MIB = 1024 * 1024
csrf = CSRFProtect()


def persistent_secret_key() -> str:
    """A key made once and kept under var/, so restarts (and every gunicorn worker) share
    sessions without anyone writing a secret into the code."""
    return config.kept_secret("gateway-secret-key", lambda: secrets.token_urlsafe(48).encode()).decode()


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
        # served over HTTPS (a deployment): the session cookie never travels over plain HTTP
        "SESSION_COOKIE_SECURE": config.public_base_url().startswith("https://"),
        # the back office's accounts and API tokens; unset = SQLite var/gateway.db
        "GATEWAY_DATABASE_URL": os.environ.get("GATEWAY_DATABASE_URL"),
        # a back-office session ends after this many seconds without a request
        "PERMANENT_SESSION_LIFETIME": int(os.environ.get("PERMANENT_SESSION_LIFETIME", 8 * 3600)),
        # failed back-office sign-ins allowed per username and client address (gateway.accounts)
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "5 per 15 minutes"),
        # failed back-office sign-ins allowed per client address, whatever the usernames (password spraying)
        "LOGIN_ADDRESS_RATE_LIMIT": os.environ.get("LOGIN_ADDRESS_RATE_LIMIT", "30 per 15 minutes"),
        # demo accounts on the embedded default (scripts/run_platform.py sets it)
        "CHIKAYA_DEMO": os.environ.get("CHIKAYA_DEMO", ""),
        # how long an attachment's download link works
        "DOWNLOAD_LINK_SECONDS": int(os.environ.get("DOWNLOAD_LINK_SECONDS", 300)),
        # a citizen's request stays open in their browser this long after their last visit
        "TRACKING_SESSION_SECONDS": int(os.environ.get("TRACKING_SESSION_SECONDS", 30 * 60)),
        # failed tracking attempts per client address (gateway.ratelimit), and where they are counted
        "TRACKING_RATE_LIMIT": os.environ.get("TRACKING_RATE_LIMIT", "20 per 10 minutes"),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        # complaints filed per client address through any channel (gateway.ratelimit); "off": no limit
        "FILING_RATE_LIMIT": os.environ.get("FILING_RATE_LIMIT", "10 per hour"),
        # reverse proxies in front of the gateway whose X-Forwarded-For to believe (0: none)
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", 0)),
        # the prosecution channel's captcha (gateway.captcha): how long a code can be answered, how
        # long a right answer lets one filing through, how many codes, audio readings and wrong
        # answers one client address gets, and the predictable test mode (embedded default only)
        "CAPTCHA_SECONDS": int(os.environ.get("CAPTCHA_SECONDS", 300)),
        "CAPTCHA_PASS_SECONDS": int(os.environ.get("CAPTCHA_PASS_SECONDS", 3600)),
        "CAPTCHA_RATE_LIMIT": os.environ.get("CAPTCHA_RATE_LIMIT", "30 per 10 minutes"),
        "CAPTCHA_TEST_MODE": os.environ.get("CAPTCHA_TEST_MODE", "") == "1",
        "PROSECUTION_OFFICES_CACHE_SECONDS": float(os.environ.get("PROSECUTION_OFFICES_CACHE_SECONDS", 300)),
        # Twilio's delivery-status callbacks (gateway.webhooks): the token they are signed with
        # and the public URL they are sent to, as notify gave it to Twilio
        "TWILIO_AUTH_TOKEN": os.environ.get("TWILIO_AUTH_TOKEN", ""),
        "TWILIO_STATUS_CALLBACK_URL": config.twilio_status_callback_url(),
        # how long the statistics page and its files reuse stats' figures (gateway.statistics)
        "STATISTICS_CACHE_SECONDS": float(os.environ.get("STATISTICS_CACHE_SECONDS", 60)),
        # keys that Open311 filing needs (comma-separated); none set: anyone may file (gateway.open311)
        "OPEN311_API_KEYS": os.environ.get("OPEN311_API_KEYS", ""),
    }


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(settings_from_environment())
    app.config.update(overrides or {})
    if app.config["CAPTCHA_TEST_MODE"] and not embedded_default(app.config):
        raise RuntimeError("CAPTCHA_TEST_MODE makes the captcha predictable: it is refused outside the "
                           "embedded default (a *_DATABASE_URL is set, so this is a deployment)")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY") or persistent_secret_key()
    if app.config["TRUSTED_PROXIES"]:
        # the client's address (rate limits) is then the one the proxy saw
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["TRUSTED_PROXIES"],
                                x_proto=app.config["TRUSTED_PROXIES"])

    init_observability(app)  # first: it measures and logs what the other hooks refuse too
    init_i18n(app)
    csrf.init_app(app)
    csrf.exempt(api.blueprint)
    csrf.exempt(agent_api.blueprint)  # a bearer token, not a cookie: nothing to forge
    csrf.exempt(prosecution_api.blueprint)  # the captcha, not a cookie, is what it checks
    csrf.exempt(webhooks.blueprint)  # signed by the provider, not sent by a browser
    csrf.exempt(open311.blueprint)  # no cookie: what a civic app sends on its own behalf
    register_error_handlers(app)
    init_rate_limits(app)

    pool = RpcPool(app.config["AMQP_URI"], timeout=app.config["RPC_TIMEOUT"])
    app.extensions["broker_check"] = BrokerCheck(app.config["AMQP_URI"])  # /readyz
    app.extensions["complaint_desk"] = ComplaintDesk(
        pool, blob_store(), administrations_ttl=app.config["ADMINISTRATIONS_CACHE_SECONDS"],
        max_attachment_bytes=app.config["MAX_ATTACHMENT_BYTES"],
        max_attachments=app.config["MAX_ATTACHMENTS"])
    app.extensions["casework"] = Casework(app.extensions["complaint_desk"])
    app.extensions["prosecution_desk"] = ProsecutionDesk(
        pool, app.extensions["complaint_desk"].blobs, offices_ttl=app.config["PROSECUTION_OFFICES_CACHE_SECONDS"],
        max_attachment_bytes=app.config["MAX_ATTACHMENT_BYTES"], max_attachments=app.config["MAX_ATTACHMENTS"])
    app.extensions["accounts"] = open_accounts(app.config)
    app.extensions["captcha_desk"] = CaptchaDesk(
        app.extensions["accounts"].sessions, lifetime=app.config["CAPTCHA_SECONDS"],
        pass_lifetime=app.config["CAPTCHA_PASS_SECONDS"], rate_limit=app.config["CAPTCHA_RATE_LIMIT"],
        storage_uri=app.config["RATELIMIT_STORAGE_URI"], test_mode=app.config["CAPTCHA_TEST_MODE"])
    app.extensions["login_throttle"] = LoginThrottle(app.config["RATELIMIT_STORAGE_URI"],
                                                     app.config["LOGIN_RATE_LIMIT"],
                                                     app.config["LOGIN_ADDRESS_RATE_LIMIT"])

    app.register_blueprint(api.blueprint)
    app.register_blueprint(web.blueprint)
    app.register_blueprint(portal.blueprint)
    app.register_blueprint(backoffice.blueprint)
    app.register_blueprint(prosecution_web.blueprint)
    app.register_blueprint(prosecution_api.blueprint)
    app.register_blueprint(prosecution_office.blueprint)
    app.register_blueprint(agent_api.blueprint)
    app.register_blueprint(downloads.blueprint)
    app.register_blueprint(webhooks.blueprint)
    app.register_blueprint(statistics.blueprint)
    app.register_blueprint(openapi.blueprint)
    open311.init_app(app)
    app.after_request(_security_headers)
    return app


def open_accounts(settings: dict) -> Accounts:
    """The accounts database, migrated, with the demo accounts if wanted.  gunicorn's workers
    start together: one of them does this while the others wait for it."""
    accounts = Accounts(settings["GATEWAY_DATABASE_URL"] or config.database_url("gateway"))
    with open(config.var_dir() / ".gateway-setup.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        accounts.migrate()
        if demo_wanted(settings):
            ensure_demo_accounts(accounts, config.public_base_url())
    return accounts


def _security_headers(response):
    # every resource is served from here: no external script, style or font
    response.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors for older browsers
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response
