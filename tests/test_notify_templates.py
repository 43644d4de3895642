"""Notify's wording and SMS arithmetic, without a broker: what the templates render to."""
import pytest

from services.common.events import load_event, make_event
from services.intake.domain import CLOSE_REASONS
from services.notify import domain
from services.prosecution import domain as prosecution_domain
from tests.factories import complaint_snapshot, lifecycle_event_data, submitted_event_data

LANGUAGES = ("ar", "fr")
LONGEST_TRACKING_NUMBER = "WWWW-WWWW-WWWWW"
# UCS-2 (ê is not GSM-7) and longer than anything intake accepts
LONGEST_TEXT = "ê" + "ع" * 9999
LONGEST_NAME = "ع" * 300  # routing's directory keeps names of up to 300 characters
DEADLINE = "2027-12-31T23:30:00+00:00"  # 1 January in Morocco


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


def lifecycle(name, language="fr", **fields):
    return load_event(name, make_event(name, lifecycle_event_data(
        LONGEST_TRACKING_NUMBER, language=language, email="a" * 240 + "@example.ma", **fields)))


def longest_contexts(template, language):
    """Every way `template` can be rendered, with each value at its longest."""
    if template == domain.SUBMITTED_TEMPLATE:
        return [domain.submission_context(longest_event(language))]
    if template.startswith("prosecution_"):
        return [domain.prosecution_context(prosecution_event(step, language)) for step in PROSECUTION_STEPS]
    for event_name, (administration_template, _field) in domain.ADMINISTRATION_MESSAGES.items():
        if template == administration_template:
            event = lifecycle(event_name, language, deadline_at=DEADLINE, days_left=99)
            return [domain.administration_context(event, name) for name in (LONGEST_NAME, "Ê" * 300)]
    snapshot = complaint_snapshot()
    events = {
        "complaint_acknowledged": [("complaint.acknowledged", {}, None)],
        "complaint_information_requested": [("complaint.information_requested", {"message": LONGEST_TEXT}, None)],
        "complaint_answered": [("complaint.answered", {"answer": LONGEST_TEXT, "received_at": DEADLINE,
                                                       "days_to_answer": 59.9}, None)],
        "complaint_closed": [("complaint.closed", {"reason": reason, "duplicate_of": LONGEST_TRACKING_NUMBER}, None)
                             for reason in (*CLOSE_REASONS, "a_reason_added_later")],
        "complaint_transferred": [("complaint.transferred", {"from_administration_code": "CNSS", "reason": LONGEST_TEXT,
                                                             "complaint": snapshot}, name)
                                  for name in (LONGEST_NAME, "Ê" * 300, None)],
        "complaint_reopened": [("complaint.reopened", {"reason": LONGEST_TEXT, "reopen_count": 99,
                                                       "deadline_at": DEADLINE, "complaint": snapshot}, None)],
        "complaint_deadline_passed": [("complaint.deadline_passed", {"deadline_at": DEADLINE}, None)],
    }[template]
    return [domain.lifecycle_context(name, lifecycle(name, language, **fields), administration)
            for name, fields, administration in events]


# every step the prosecution records, and one added later that the templates do not know yet
PROSECUTION_STEPS = (*prosecution_domain.STEPS, "a_step_added_later")
LONGEST_PROSECUTION_CODE = "WWWW-WWWW-WWW"


def prosecution_event(step, language="fr", name="prosecution.step_recorded", **fields):
    data = {"tracking_code": LONGEST_PROSECUTION_CODE, "office_code": "TPI_RABAT", "category": "corruption",
            "month": "2027-12", "step": step, "status": "registered",
            "citizen": {"language": language, "phone": "+212612345678", "email": "a@example.ma"},
            "register_number": "2027/2101/123456" if step == "registered" else None, **fields}
    if name == "prosecution.complaint_registered":
        data = {key: value for key, value in data.items() if key != "register_number"}
        data["submitted_at"] = DEADLINE
    return load_event(name, make_event(name, data))


SMS_TEMPLATES = sorted(domain.TEMPLATES_DIR.glob("*/*.sms.txt"))


@pytest.mark.parametrize("path", SMS_TEMPLATES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_sms_fits_two_segments_with_the_longest_values(path, monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://www.chikaya.ma/portail-national-des-reclamations")
    language, template = path.parent.name, path.name.removesuffix(".sms.txt")
    for context in longest_contexts(template, language):
        text = domain.render_sms(language, template, context)
        encoding = "GSM-7" if domain.is_gsm7(text) else "UCS-2"
        assert domain.sms_segments(text) <= domain.MAX_SMS_SEGMENTS, f"{len(text)} characters in {encoding}: {text}"
        assert (LONGEST_PROSECUTION_CODE if template.startswith("prosecution_") else LONGEST_TRACKING_NUMBER) in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_tracking_number_sms_fits_one_segment(language):
    text = domain.render_sms(language, domain.SUBMITTED_TEMPLATE,
                             domain.submission_context(longest_event(language)))
    assert domain.sms_segments(text) == 1, text


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_long_question_is_cut_in_the_sms_and_whole_in_the_email(language):
    question = "Merci de joindre   la copie\nde votre attestation de salaire " + "et du contrat " * 40
    sms, email = domain.messages_for_lifecycle("complaint.information_requested", lifecycle(
        "complaint.information_requested", language, message=question))
    assert domain.sms_segments(sms.body) == domain.MAX_SMS_SEGMENTS
    assert "Merci de joindre la copie de votre attestation" in sms.body and domain.ELLIPSIS + '"' in sms.body
    assert sms.body.endswith("Lisez et répondez sur la page de suivi." if language == "fr"
                             else "أجيبوا في صفحة التتبع.")
    assert question in email.body  # the e-mail has it whole
    short = domain.messages_for_lifecycle("complaint.information_requested", lifecycle(
        "complaint.information_requested", language, message="Votre RIB ?"))[0]
    assert '"Votre RIB ?"' in short.body and domain.ELLIPSIS not in short.body


def test_a_french_sms_stays_in_the_gsm_alphabet():
    """Cheaper, and room for 306 characters; the citizen's and agents' own words may still
    need UCS-2, but the wording around them does not."""
    for path in domain.TEMPLATES_DIR.glob("fr/*.sms.txt"):
        template = path.name.removesuffix(".sms.txt")
        for context in longest_contexts(template, "fr"):
            plain = {key: "x" if key in ("question", "administration") and value else value
                     for key, value in context.items()}
            text = domain.render_sms("fr", template, plain)
            assert domain.is_gsm7(text), text


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_closing_reason_intake_knows_has_its_own_words(language):
    def sms(reason):
        return domain.messages_for_lifecycle("complaint.closed", lifecycle(
            "complaint.closed", language, phone="+212612345678", reason=reason,
            duplicate_of="DDDD-DDDD-DDDD1"))[0].body

    general = sms("a_reason_added_later")
    wordings = {reason: sms(reason) for reason in CLOSE_REASONS}
    assert general not in wordings.values() and len(set(wordings.values())) == len(CLOSE_REASONS)
    assert "DDDD-DDDD-DDDD1" in wordings["duplicate"]


@pytest.mark.parametrize("language, name, general", [
    ("fr", "Office national de l'électricité et de l'eau potable", "l'administration compétente."),
    ("ar", "المكتب الوطني للكهرباء والماء الصالح للشرب", "الإدارة المختصة بمعالجته."),
])
def test_a_transfer_names_the_administration_when_routing_could(language, name, general):
    event = lifecycle("complaint.transferred", language, from_administration_code="CNSS",
                      reason="Compétence de l'ONEE", complaint=complaint_snapshot())
    sms, email = domain.messages_for_lifecycle("complaint.transferred", event, administration=name)
    assert name in sms.body and name in email.body and "Compétence de l'ONEE" in email.body
    unnamed, _email = domain.messages_for_lifecycle("complaint.transferred", event)
    assert unnamed.body.endswith(general)


def test_dates_are_the_citizens_calendar_day():
    event = lifecycle("complaint.deadline_passed", deadline_at=DEADLINE)
    [sms, email] = domain.messages_for_lifecycle("complaint.deadline_passed", event)
    assert "01/01/2028" in sms.body and "01/01/2028" in email.body


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


@pytest.mark.parametrize("path", sorted(domain.TEMPLATES_DIR.glob("*/*.email.txt")),
                         ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_email_links_to_the_tracking_page_in_its_language(path, monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://chikaya.example/")
    language, template = path.parent.name, path.name.removesuffix(".email.txt")
    number, link = LONGEST_TRACKING_NUMBER, f"https://chikaya.example/track?number={LONGEST_TRACKING_NUMBER}"
    if template in {template for template, _field in domain.ADMINISTRATION_MESSAGES.values()}:
        link = f"https://chikaya.example/backoffice/complaints/{LONGEST_TRACKING_NUMBER}"  # agents' page
    elif template.startswith("prosecution_"):
        number, link = LONGEST_PROSECUTION_CODE, "https://chikaya.example/prosecution/"  # the code is typed there
    for context in longest_contexts(template, language):
        subject = domain.render(language, template, "email.subject", context)
        text = domain.render(language, template, "email", context)
        assert "\n" not in subject and number in subject
        assert link in text.splitlines() and domain.PLATFORM_NAME in text
        html = domain.render_email_html(language, subject, text, link)
        assert f'<a href="{link}"' in html and f'lang="{language}"' in html


def test_the_message_needs_nothing_else_of_the_complaint():
    context = domain.submission_context(submitted(email="citizen@example.ma"))
    assert set(context) == {"platform_name", "tracking_number", "tracking_url", "full_name", "subject"}


@pytest.mark.parametrize("language, days", [("fr", "dans 15 jours"), ("ar", "بعد 15 يوما")])
def test_the_reminder_goes_to_the_desk_and_the_notice_to_the_supervisor(language, days):
    contacts = {"contact_email": "bureau@cnss.ma", "supervisor_email": "chef@cnss.ma", "contact_language": language}
    reminder = domain.message_for_administration("complaint.deadline_approaching", lifecycle(
        "complaint.deadline_approaching", deadline_at=DEADLINE, days_left=15), contacts, "CNSS")
    notice = domain.message_for_administration("complaint.deadline_passed", lifecycle(
        "complaint.deadline_passed", deadline_at=DEADLINE), contacts, "CNSS")
    assert (reminder.channel, reminder.recipient, reminder.language) == ("email", "bureau@cnss.ma", language)
    assert days in reminder.body and "01/01/2028" in reminder.subject
    assert (notice.recipient, notice.template) == ("chef@cnss.ma", "supervisor_deadline_passed")
    assert domain.message_for_administration("complaint.deadline_passed", lifecycle(
        "complaint.deadline_passed", deadline_at=DEADLINE), {**contacts, "supervisor_email": None}, "CNSS") is None


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_prosecution_tracking_code_sms_fits_one_segment(language, monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://www.chikaya.ma/portail-national-des-reclamations")
    event = prosecution_event("received", language, name="prosecution.complaint_registered")
    sms, email = domain.messages_for_prosecution("prosecution.complaint_registered", event)
    assert domain.sms_segments(sms.body) == 1 and LONGEST_PROSECUTION_CODE in sms.body, sms.body
    assert email.recipient == "a@example.ma" and email.tracking_number == LONGEST_PROSECUTION_CODE
    assert "https://www.chikaya.ma/portail-national-des-reclamations/prosecution/" in email.html


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_prosecution_step_has_its_own_words(language):
    def sms(step):
        return domain.messages_for_prosecution("prosecution.step_recorded", prosecution_event(step, language))[0].body

    wordings = {step: sms(step) for step in prosecution_domain.STEPS if step not in ("received", "documents_added")}
    assert len(set(wordings.values())) == len(wordings) and sms("a_step_added_later") not in wordings.values()
    assert "2027/2101/123456" in wordings["registered"]
