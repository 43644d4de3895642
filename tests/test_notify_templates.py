"""Notify's wording and SMS arithmetic, without a broker: what the templates render to."""
import pytest

from services.common.events import load_event, make_event
from services.notify import domain
from tests.factories import submitted_event_data

LANGUAGES = ("ar", "fr")
LONGEST_TRACKING_NUMBER = "WWWW-WWWW-WWWWW"


def submitted(**overrides):
    return load_event("complaint.submitted", make_event("complaint.submitted",
                                                        submitted_event_data(**overrides)))


def longest_event(language):
    """Every value the templates may use at the longest intake accepts."""
    return submitted(tracking_number=LONGEST_TRACKING_NUMBER, language=language,
                     full_name="ع" * 120, subject="ص" * 200, email="a" * 240 + "@example.ma")


@pytest.mark.parametrize("text, segments", [
    ("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3),
    ("é" * 160, 1),  # é is in the GSM alphabet
    ("€" * 80, 1), ("€" * 81, 2),  # extension characters cost two septets
    ("ê" + "a" * 69, 1), ("ê" + "a" * 70, 2),  # ê is not: the whole message becomes UCS-2
    ("ش" * 70, 1), ("ش" * 71, 2), ("ش" * 134, 2), ("ش" * 135, 3),
    ("😀" * 35, 1), ("😀" * 36, 2),  # outside the BMP: two UTF-16 units each
])
def test_sms_segments(text, segments):
    assert domain.sms_segments(text) == segments


@pytest.mark.parametrize("path", sorted(domain.TEMPLATES_DIR.glob("*/*.sms.txt")),
                         ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_sms_template_fits_one_segment_with_the_longest_values(path, monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://www.chikaya.ma/portail-national-des-reclamations")
    language, template = path.parent.name, path.name.removesuffix(".sms.txt")
    text = domain.render(language, template, "sms", domain.submission_context(longest_event(language)))
    encoding = "GSM-7" if domain.is_gsm7(text) else "UCS-2"
    assert domain.sms_segments(text) == 1, f"{len(text)} characters in {encoding}: {text}"
    assert LONGEST_TRACKING_NUMBER in text


def test_every_language_has_the_same_templates():
    names = {language: sorted(path.name for path in (domain.TEMPLATES_DIR / language).iterdir())
             for language in LANGUAGES}
    assert names["ar"] == names["fr"]


def test_each_channel_the_citizen_gave_gets_a_message_in_their_language():
    both = domain.messages_for_submission(submitted(email="citizen@example.ma", language="ar"))
    assert [(message.channel, message.recipient, message.language) for message in both] == [
        ("sms", "+212612345678", "ar"), ("email", "citizen@example.ma", "ar")]
    assert "تتبع" in both[0].body and "ABCD-EFGH-JKMN0" in both[0].body
    email_only = domain.messages_for_submission(submitted(email="citizen@example.ma", phone=None))
    assert [message.channel for message in email_only] == ["email"]
    phone_only = domain.messages_for_submission(submitted())
    assert [message.channel for message in phone_only] == ["sms"]


@pytest.mark.parametrize("language, direction", [("ar", "rtl"), ("fr", "ltr")])
def test_email_links_to_the_tracking_page(language, direction, monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://chikaya.example/")
    event = submitted(email="citizen@example.ma", phone=None, language=language,
                      subject="Pension <b>non</b> versée")
    [email] = domain.messages_for_submission(event)
    link = "https://chikaya.example/track?number=ABCD-EFGH-JKMN0"
    assert "\n" not in email.subject and "ABCD-EFGH-JKMN0" in email.subject
    assert domain.PLATFORM_NAME in email.body and link in email.body
    assert "Fatima Zahra El Amrani" in email.body and "Pension <b>non</b> versée" in email.body
    assert f'dir="{direction}"' in email.html and f'<a href="{link}"' in email.html
    assert "Pension &lt;b&gt;non&lt;/b&gt; versée" in email.html  # the citizen's text is escaped
    assert email.event_id == str(event["event_id"]) and email.template == "complaint_submitted"


def test_the_message_needs_nothing_else_of_the_complaint():
    context = domain.submission_context(submitted(email="citizen@example.ma"))
    assert set(context) == {"platform_name", "tracking_number", "tracking_url", "full_name", "subject"}
