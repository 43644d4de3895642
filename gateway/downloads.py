"""Short-lived download links to an attachment, for the complaint's citizen and for the
agents of its administration.

A link is `/files/<token>`, the token sealed (gateway.sealing) with the tracking number, the
attachment id and who may have it: the citizen's contact, or the agent (actor).  It lasts
DOWNLOAD_LINK_SECONDS (default 300).  Following it asks intake again (citizen_attachment or
agent_attachment, which check the contact or the agent's scope) and streams the blob as a
download that no browser renders: `Content-Disposition: attachment`, `nosniff`, a sandbox
policy, and a content type from the accepted-upload list only (anything else, say an HTML
page or an SVG image, goes out as application/octet-stream).
"""
import unicodedata
from pathlib import PurePosixPath
from urllib.parse import quote

from flask import Blueprint, Response, current_app, request, url_for
from werkzeug.wsgi import wrap_file

from gateway.complaints import desk
from gateway.errors import LinkExpired, LinkInvalid
from gateway.sealing import Expired, Invalid, seal, unseal
from gateway.uploads import ALLOWED_TYPES
from services.common.blobs import BlobNotFound
from services.common.errors import NotFound

PURPOSE = "attachment-download"

blueprint = Blueprint("downloads", __name__)


def citizen_link(tracking_number: str, contact: str, attachment_id: int) -> str:
    return _link({"tracking_number": tracking_number, "attachment_id": attachment_id, "contact": contact})


def agent_link(actor: dict, tracking_number: str, attachment_id: int) -> str:
    return _link({"tracking_number": tracking_number, "attachment_id": attachment_id, "actor": actor})


def _link(grant: dict) -> str:
    return url_for("downloads.download", token=seal(PURPOSE, grant))


@blueprint.get("/files/<token>")
def download(token):
    try:
        grant = unseal(PURPOSE, token, current_app.config["DOWNLOAD_LINK_SECONDS"])
    except Expired:
        raise LinkExpired() from None
    except Invalid:
        raise LinkInvalid() from None
    try:
        return attachment_response(desk().blobs, _attachment(grant))
    except (NotFound, BlobNotFound):
        raise LinkInvalid() from None


def attachment_response(blobs, attachment: dict) -> Response:
    """The attachment ({blob_key, filename, content_type, size}) streamed from the blob store
    as a download; BlobNotFound at once if the blob is missing."""
    response = Response(wrap_file(request.environ, blobs.open(attachment["blob_key"])),
                        direct_passthrough=True, mimetype=safe_content_type(attachment["content_type"]))
    response.content_length = attachment["size"]
    response.headers["Content-Disposition"] = content_disposition(attachment["filename"])
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'; frame-ancestors 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _attachment(grant: dict) -> dict:
    """{blob_key, filename, content_type, size}, if the holder of the grant may have it."""
    number, attachment_id = grant["tracking_number"], grant["attachment_id"]
    if "actor" in grant:
        return desk().pool.call("intake", "agent_attachment", grant["actor"], number, attachment_id)
    return desk().citizen_attachment(number, grant["contact"], attachment_id)


def safe_content_type(content_type: str) -> str:
    return content_type if content_type in ALLOWED_TYPES else "application/octet-stream"


def content_disposition(filename: str) -> str:
    """`attachment` with the name in UTF-8 (RFC 6266) and a plain-ASCII one for old clients."""
    fallback = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    fallback = "".join(ch for ch in fallback if ch.isprintable() and ch not in '"\\;')
    if not PurePosixPath(fallback).stem.strip(" ."):
        fallback = "attachment" + PurePosixPath(fallback).suffix
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
