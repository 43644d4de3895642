"""Notify's rules: which messages a fact calls for, how they read, how many SMS segments they cost.

Plain Python, so tests call it without a broker.  The wording lives in templates/<language>/
as Jinja2 files that a non-programmer can edit; a change is picked up without a restart.
"""
import math
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.common import config

PLATFORM_NAME = "Chikaya — شكاية"
SUBMITTED_TEMPLATE = "complaint_submitted"
TEMPLATES_DIR = Path(__file__).with_name("templates")

# Only .html templates are escaped: the SMS and plain-text e-mail go out exactly as rendered.
_templates = Environment(loader=FileSystemLoader(TEMPLATES_DIR), undefined=StrictUndefined,
                         autoescape=select_autoescape(["html"]))

# GSM 03.38: the default alphabet costs one septet a character, its extension table two.
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENSION = set("^{}\\[~]|€\f")


@dataclass(frozen=True)
class Message:
    """One message for one recipient on one channel, ready for a provider."""
    channel: str  # "sms" or "email"
    recipient: str  # E.164 phone number or e-mail address
    template: str
    language: str
    tracking_number: str
    event_id: str
    body: str  # the SMS, or the e-mail's plain text
    subject: str | None = None
    html: str | None = None


def tracking_url(tracking_number: str) -> str:
    return f"{config.public_base_url().rstrip('/')}/track?number={quote(tracking_number)}"


def submission_context(event: dict) -> dict:
    """What the complaint_submitted templates may use, and nothing else of the complaint."""
    return {
        "platform_name": PLATFORM_NAME,
        "tracking_number": event["tracking_number"],
        "tracking_url": tracking_url(event["tracking_number"]),
        "full_name": event["complainant"]["full_name"],
        "subject": event["subject"],
    }


def render(language: str, template: str, part: str, context: dict) -> str:
    """`part` is sms, email.subject or email; the file is templates/<language>/<template>.<part>.txt."""
    return _templates.get_template(f"{language}/{template}.{part}.txt").render(context).strip()


def render_email_html(language: str, subject: str, text: str, link: str) -> str:
    """The HTML twin of the plain-text e-mail, so one text file per language holds the wording."""
    paragraphs = [block.splitlines() for block in text.split("\n\n") if block.strip()]
    return _templates.get_template("email_layout.html").render(
        language=language, direction="rtl" if language == "ar" else "ltr", subject=subject,
        paragraphs=paragraphs, link=link)


def messages_for_submission(event: dict) -> list[Message]:
    """The tracking-number message on every channel the citizen gave, in the complaint's language."""
    language, person = event["language"], event["complainant"]
    context = submission_context(event)
    common = {"template": SUBMITTED_TEMPLATE, "language": language,
              "tracking_number": event["tracking_number"], "event_id": str(event["event_id"])}
    messages = []
    if person.get("phone"):
        messages.append(Message(channel="sms", recipient=person["phone"],
                                body=render(language, SUBMITTED_TEMPLATE, "sms", context), **common))
    if person.get("email"):
        subject = render(language, SUBMITTED_TEMPLATE, "email.subject", context)
        text = render(language, SUBMITTED_TEMPLATE, "email", context)
        messages.append(Message(
            channel="email", recipient=person["email"], subject=subject, body=text,
            html=render_email_html(language, subject, text, context["tracking_url"]), **common))
    return messages


def is_gsm7(text: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def sms_segments(text: str) -> int:
    """How many SMS parts `text` is billed as.

    GSM-7 fits 160 septets in one part, 153 per part once split; a single character outside
    GSM-7 turns the whole message into UCS-2: 70 UTF-16 units, 67 per part once split.
    """
    if is_gsm7(text):
        units, single, per_part = sum(2 if char in GSM7_EXTENSION else 1 for char in text), 160, 153
    else:
        units, single, per_part = len(text.encode("utf-16-le")) // 2, 70, 67
    return 1 if units <= single else math.ceil(units / per_part)
