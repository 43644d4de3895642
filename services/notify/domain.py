"""Notify's rules: which messages a fact calls for, how they read, how many SMS segments they cost.

Plain Python, so tests call it without a broker.  The wording lives in templates/<language>/
as Jinja2 files that a non-programmer can edit; a change is picked up without a restart.
"""
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.common import config

PLATFORM_NAME = "Chikaya — شكاية"
SUBMITTED_TEMPLATE = "complaint_submitted"
TEMPLATES_DIR = Path(__file__).with_name("templates")
MAX_SMS_SEGMENTS = 2
# "..." rather than "…", which is not GSM-7 and would make a French SMS cost UCS-2 rates
ELLIPSIS = "..."
# Dates in messages are the citizen's calendar days.
TIMEZONE = ZoneInfo("Africa/Casablanca")

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


def _common_context(tracking_number: str) -> dict:
    return {"platform_name": PLATFORM_NAME, "tracking_number": tracking_number,
            "tracking_url": tracking_url(tracking_number)}


def submission_context(event: dict) -> dict:
    """What the complaint_submitted templates may use, and nothing else of the complaint."""
    return {**_common_context(event["tracking_number"]),
            "full_name": event["complainant"]["full_name"], "subject": event["subject"]}


def local_date(moment: datetime) -> str:
    return moment.astimezone(TIMEZONE).strftime("%d/%m/%Y")


# The lifecycle events the citizen is told of, and what of each its templates may use.
LIFECYCLE_FIELDS = {
    "complaint.acknowledged": lambda event: {},
    "complaint.information_requested": lambda event: {"question": event["message"]},
    "complaint.answered": lambda event: {"answer": event["answer"]},
    "complaint.closed": lambda event: {"reason": event["reason"], "duplicate_of": event["duplicate_of"]},
    # `administration` (its name) is added by the caller, who asks routing's directory
    "complaint.transferred": lambda event: {"transfer_reason": event["reason"]},
    "complaint.reopened": lambda event: {"reopen_count": event["reopen_count"],
                                         "deadline": local_date(event["deadline_at"])},
    "complaint.deadline_passed": lambda event: {"deadline": local_date(event["deadline_at"])},
}
# The one value an SMS may cut (with ELLIPSIS) to stay within MAX_SMS_SEGMENTS; the e-mail
# and the tracking page always have it whole.
SHORTENED_IN_SMS = {"complaint_information_requested": "question", "complaint_transferred": "administration"}


def template_for(event_name: str) -> str:
    """complaint.answered -> complaint_answered: templates/<language>/complaint_answered.*.txt"""
    return event_name.replace(".", "_")


def lifecycle_context(event_name: str, event: dict, administration: str | None = None) -> dict:
    """What the templates of `event_name` may use; `administration` is the name of the
    administration a transfer went to, or None to say "the competent administration"."""
    context = {**_common_context(event["tracking_number"]), **LIFECYCLE_FIELDS[event_name](event)}
    if event_name == "complaint.transferred":
        context["administration"] = administration
    return context


def render(language: str, template: str, part: str, context: dict) -> str:
    """`part` is sms, email.subject or email; the file is templates/<language>/<template>.<part>.txt."""
    return _templates.get_template(f"{language}/{template}.{part}.txt").render(context).strip()


def render_email_html(language: str, subject: str, text: str, link: str) -> str:
    """The HTML twin of the plain-text e-mail, so one text file per language holds the wording."""
    paragraphs = [block.splitlines() for block in text.split("\n\n") if block.strip()]
    return _templates.get_template("email_layout.html").render(
        language=language, direction="rtl" if language == "ar" else "ltr", subject=subject,
        paragraphs=paragraphs, link=link)


def render_sms(language: str, template: str, context: dict) -> str:
    """The SMS, within MAX_SMS_SEGMENTS: the template's SHORTENED_IN_SMS value is put on one
    line and, if the whole is still too long, cut to the longest beginning that fits."""
    field = SHORTENED_IN_SMS.get(template)
    if not field or not context.get(field):
        return render(language, template, "sms", context)
    value = " ".join(context[field].split())
    text = render(language, template, "sms", {**context, field: value})
    if sms_segments(text) <= MAX_SMS_SEGMENTS:
        return text

    def cut(length):
        return render(language, template, "sms", {**context, field: value[:length].rstrip() + ELLIPSIS})

    # a longer beginning never costs fewer units, so the longest that fits is found by bisection
    shortest, longest = 0, len(value) - 1
    while shortest < longest:
        middle = (shortest + longest + 1) // 2
        if sms_segments(cut(middle)) <= MAX_SMS_SEGMENTS:
            shortest = middle
        else:
            longest = middle - 1
    return cut(shortest)


def email_message(template: str, language: str, recipient: str, context: dict, event: dict, link: str) -> Message:
    """The e-mail of `template`: its subject, its plain text and the HTML twin that links to `link`."""
    subject = render(language, template, "email.subject", context)
    text = render(language, template, "email", context)
    return Message(channel="email", recipient=recipient, template=template, language=language,
                   tracking_number=event["tracking_number"], event_id=str(event["event_id"]),
                   subject=subject, body=text, html=render_email_html(language, subject, text, link))


def messages_for(template: str, language: str, contacts: dict, context: dict, event: dict) -> list[Message]:
    """The message of `template` on every channel in `contacts` (phone, email), in `language`."""
    messages = []
    if contacts.get("phone"):
        messages.append(Message(channel="sms", recipient=contacts["phone"], template=template, language=language,
                                tracking_number=event["tracking_number"], event_id=str(event["event_id"]),
                                body=render_sms(language, template, context)))
    if contacts.get("email"):
        messages.append(email_message(template, language, contacts["email"], context, event, context["tracking_url"]))
    return messages


def messages_for_submission(event: dict) -> list[Message]:
    """The tracking-number message on every channel the citizen gave, in the complaint's language."""
    return messages_for(SUBMITTED_TEMPLATE, event["language"], event["complainant"],
                        submission_context(event), event)


def messages_for_lifecycle(event_name: str, event: dict, administration: str | None = None) -> list[Message]:
    """What the citizen is told of a step of their complaint, where and in the language the
    event's `citizen` block says."""
    citizen = event["citizen"]
    return messages_for(template_for(event_name), citizen["language"], citizen,
                        lifecycle_context(event_name, event, administration), event)


# The public prosecution's channel: the complainant is told of the filing (the tracking code)
# and of every step, by SMS (the phone is required there) and by e-mail when one was given.
PROSECUTION_TEMPLATES = {"prosecution.complaint_registered": "prosecution_complaint_registered",
                         "prosecution.step_recorded": "prosecution_step_recorded"}


def prosecution_url() -> str:
    """The channel's "follow a complaint" page: the code and the phone are typed there, so the
    link carries neither."""
    return f"{config.public_base_url().rstrip('/')}/prosecution/"


def prosecution_context(event: dict) -> dict:
    """What the channel's templates may use: the code and the step, never the facts or names."""
    return {"platform_name": PLATFORM_NAME, "tracking_number": event["tracking_code"],
            "tracking_url": prosecution_url(), "step": event["step"],
            "register_number": event.get("register_number"), "reason": event.get("reason")}


def messages_for_prosecution(event_name: str, event: dict) -> list[Message]:
    citizen = event["citizen"]
    return messages_for(PROSECUTION_TEMPLATES[event_name], citizen["language"], citizen,
                        prosecution_context(event), {**event, "tracking_number": event["tracking_code"]})


# The deadline events the administration is written to about, by e-mail to the address the
# directory gives for it: (template, the directory's field with the address).
ADMINISTRATION_MESSAGES = {
    "complaint.deadline_approaching": ("administration_deadline_approaching", "contact_email"),
    "complaint.deadline_passed": ("supervisor_deadline_passed", "supervisor_email"),
}


def backoffice_url(tracking_number: str) -> str:
    return f"{config.public_base_url().rstrip('/')}/backoffice/complaints/{quote(tracking_number)}"


def administration_context(event: dict, administration: str) -> dict:
    """What the administration's templates may use: no personal data of the citizen, since
    the agent reads it in the back office where each view is logged."""
    return {"platform_name": PLATFORM_NAME, "tracking_number": event["tracking_number"],
            "complaint_url": backoffice_url(event["tracking_number"]), "administration": administration,
            "deadline": local_date(event["deadline_at"]), "days_left": event.get("days_left")}


def message_for_administration(event_name: str, event: dict, contacts: dict, administration: str) -> Message | None:
    """The e-mail `event_name` calls for to the administration (its complaints desk before the
    deadline, its supervisor after), in the language its contacts ask for; None without an address."""
    template, field = ADMINISTRATION_MESSAGES[event_name]
    if not contacts.get(field):
        return None
    language = contacts["contact_language"]
    context = administration_context(event, administration)
    return email_message(template, language, contacts[field], context, event, context["complaint_url"])


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
