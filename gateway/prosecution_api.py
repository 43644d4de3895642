"""The public prosecution's JSON API (/api/v1/prosecution), for mobile apps: the same filing
and following as the pages, the captcha included.

    POST /api/v1/prosecution/captcha                   -> 201 {captcha_id, image_url, audio_url, expires_in}
    GET  /api/v1/prosecution/captcha/<id>/image        -> the code as a PNG
    GET  /api/v1/prosecution/captcha/<id>/audio?lang=  -> the code read out, as a WAV
    GET  /api/v1/prosecution/offices                   -> the courts, their offices and cities
    POST /api/v1/prosecution/complaints                -> 201 {tracking_code, status, office_code, ...}
    GET  /api/v1/prosecution/complaints/<code>?phone=  -> the file's status and dated steps
    POST /api/v1/prosecution/complaints/<code>/documents (multipart: phone, attachments) -> 201

A filing carries `captcha: {id, answer}` (or the form fields `captcha.id`, `captcha.answer`);
the code is checked once every other field is right, and is used up by that check.
"""
from flask import Blueprint, Response, abort, current_app, jsonify, request, url_for

from gateway.api import body_fields
from gateway.captcha import TooManyCaptchas, image_png
from gateway.i18n import current_language
from gateway.prosecution import prosecution_desk
from gateway.ratelimit import count_filing
from services.common.errors import ValidationFailed

blueprint = Blueprint("prosecution_api", __name__, url_prefix="/api/v1/prosecution")


def captchas():
    return current_app.extensions["captcha_desk"]


def _client() -> str:
    return request.remote_addr


@blueprint.post("/captcha")
def new_captcha():
    try:
        challenge = captchas().issue(_client())
    except TooManyCaptchas:
        abort(429)
    return {"captcha_id": challenge,
            "image_url": url_for(".captcha_image", challenge=challenge),
            "audio_url": url_for(".captcha_audio", challenge=challenge, lang=current_language()),
            "expires_in": captchas().lifetime}, 201


def _private(body: bytes, mimetype: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/captcha/<challenge>/image")
def captcha_image(challenge):
    answer = captchas().answer_to_show(challenge)
    if answer is None:
        abort(404)
    return _private(image_png(answer), "image/png")


@blueprint.get("/captcha/<challenge>/audio")
def captcha_audio(challenge):
    try:
        audio = captchas().audio(challenge, current_language(), _client())
    except TooManyCaptchas:
        abort(429)
    if audio is None:
        abort(404)
    return _private(audio, "audio/wav")


@blueprint.get("/offices")
def offices():
    return jsonify(prosecution_desk().offices())


@blueprint.post("/complaints")
def file_complaint():
    fields = body_fields()
    captcha = fields.get("captcha") if isinstance(fields.get("captcha"), dict) else {}
    challenge, answer = str(captcha.get("id") or ""), str(captcha.get("answer") or "")

    def check_captcha():
        if not challenge or not answer:
            return "required"
        try:
            return captchas().redeem(challenge, answer, _client())
        except TooManyCaptchas:
            abort(429)

    try:
        receipt, _filing = prosecution_desk().file(fields, request.files.getlist("attachments"),
                                                   current_language(), captcha=check_captcha)
    except ValidationFailed as exc:
        if not challenge or not answer:  # say it along with the other fields
            exc.errors.setdefault("captcha", ["required"])
        raise
    count_filing()
    return receipt, 201


@blueprint.get("/complaints/<code>")
def track(code):
    return prosecution_desk().track(code, request.args.get("phone", ""))


@blueprint.post("/complaints/<code>/documents")
def add_documents(code):
    view = prosecution_desk().add_documents(code, body_fields().get("phone", ""), request.files.getlist("attachments"))
    return view, 201
