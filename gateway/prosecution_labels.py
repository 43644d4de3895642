"""What the prosecution channel's codes (categories, statuses, steps, reasons, kinds of accused,
roles) are called in the user's language."""
from flask_babel import lazy_gettext as _l

CATEGORIES = {
    "corruption": _l("Corruption (bribery)"),
    "embezzlement": _l("Embezzlement or misuse of public funds"),
    "violence": _l("Violence or assault"),
    "violence_against_women": _l("Violence against women"),
    "theft": _l("Theft"),
    "fraud": _l("Fraud or breach of trust"),
    "forgery": _l("Forgery and use of forged documents"),
    "threats_defamation": _l("Threats, insults or defamation"),
    "cybercrime": _l("Offence committed online"),
    "family_abandonment": _l("Family abandonment"),
    "dishonoured_cheque": _l("Cheque without funds"),
    "property_trespass": _l("Taking of property from its holder"),
    "other": _l("Other offence"),
}

ACCUSED_KINDS = {
    "natural_person": _l("A person"),
    "legal_person": _l("A company or an organisation (legal person)"),
    "unknown": _l("Unknown person"),
}

# Where a complaint stands, as the complainant reads it.
STATUSES = {
    "received": _l("Received by the public prosecutor's office"),
    "registered": _l("Registered by the public prosecutor's office"),
    "under_investigation": _l("Referred to the judicial police for investigation"),
    "information_requested": _l("The public prosecutor's office asks you for more information"),
    "filed_without_action": _l("Decision: filed without action"),
    "prosecution_launched": _l("Decision: prosecution launched"),
    "referred_to_investigating_judge": _l("Decision: referred to the investigating judge"),
}

# What happened at one point of the timeline.
STEPS = {
    "received": _l("Complaint received by %(office)s"),
    "registered": _l("Registered under number %(register_number)s"),
    "referred_to_police": _l("Referred to the judicial police for investigation"),
    "information_requested": _l("More information requested from you"),
    "documents_added": _l("You added documents"),
    "filed_without_action": _l("Filed without action: %(reason)s"),
    "prosecution_launched": _l("Prosecution launched"),
    "referred_to_investigating_judge": _l("Referred to the investigating judge"),
    "forwarded": _l("Forwarded to the competent office: %(office)s"),
}

FILING_REASONS = {
    "no_offence": _l("the facts are not an offence"),
    "insufficient_evidence": _l("insufficient evidence"),
    "unknown_perpetrator": _l("the perpetrator could not be identified"),
    "time_barred": _l("the facts are time-barred"),
    "withdrawal": _l("the complainant withdrew the complaint"),
    "civil_matter": _l("a civil dispute, for the civil courts"),
    "other": _l("other reason"),
}

# What staff may do, as buttons and form titles.
ACTIONS = {
    "register": _l("Register the complaint"),
    "refer_to_police": _l("Refer to the judicial police"),
    "request_information": _l("Ask the complainant for more information"),
    "file_without_action": _l("File without action"),
    "launch_prosecution": _l("Launch a prosecution"),
    "refer_to_investigating_judge": _l("Refer to the investigating judge"),
    "forward": _l("Forward to another office (not competent)"),
}

DONE = {
    "register": _l("The complaint is registered. The complainant is told by SMS."),
    "refer_to_police": _l("The complaint is referred to the judicial police. The complainant is told by SMS."),
    "request_information": _l("Your request was sent to the complainant by SMS."),
    "file_without_action": _l("The complaint is filed without action. The complainant is told by SMS."),
    "launch_prosecution": _l("The prosecution is launched. The complainant is told by SMS."),
    "refer_to_investigating_judge": _l("The complaint is referred to the investigating judge. "
                                       "The complainant is told by SMS."),
    "forward": _l("The complaint was forwarded. The complainant is told by SMS."),
}

ROLES = {
    "prosecution_clerk": _l("Prosecution clerk"),
    "chief_prosecutor": _l("Chief prosecutor"),
}

ACCESS_ACTIONS = {"view": _l("Opened the file"), "attachment": _l("Downloaded a document"),
                  "unseal": _l("Unsealed the complainant's identity")}


def step_label(entry: dict, office_name=lambda code: code) -> str:
    """One timeline entry as a sentence; `office_name(code)` names an office."""
    detail = entry.get("detail") or {}
    template = STEPS.get(entry.get("step"))
    if template is None:
        return entry.get("step") or ""
    reason = detail.get("reason")
    return str(template % {
        "office": office_name(detail.get("to_office_code") or detail.get("office_code")),
        "register_number": detail.get("register_number"),
        "reason": FILING_REASONS.get(reason, reason),
    })
