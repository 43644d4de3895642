"""What the codes the services speak (request types, statuses, timeline events) are called
in the citizen's language."""
from flask_babel import lazy_gettext as _l

REQUEST_TYPES = {
    "complaint": _l("Complaint"),
    "observation": _l("Observation"),
    "suggestion": _l("Suggestion"),
}

COMPLAINANT_STATUSES = {
    "citizen": _l("Citizen living in Morocco"),
    "moroccan_abroad": _l("Moroccan living abroad"),
    "foreign_resident": _l("Foreigner living in Morocco"),
}

ID_TYPES = {
    "cnie": _l("National electronic identity card (CNIE)"),
    "passport": _l("Passport"),
    "residence_card": _l("Residence card"),
}

ADMINISTRATION_KINDS = {
    "ministry": _l("Ministries"),
    "public_institution": _l("Public institutions"),
    "local_authority": _l("Local authorities"),
}

# Where a complaint stands now, as a short phrase (the citizen's side).
STATUSES = {
    "submitted": _l("Filed, waiting to be routed"),
    "triage": _l("Being dispatched to the administration concerned"),
    "routed": _l("Sent to the administration concerned"),
    "received": _l("Received by the administration"),
    "in_progress": _l("Being dealt with by the administration"),
    "information_requested": _l("The administration is waiting for information from you"),
    "answered": _l("Answered by the administration"),
    "closed": _l("Closed"),
}

# What happened at one point of the timeline, when the entry is a status.
TIMELINE_STATUSES = {
    "submitted": _l("Request filed"),
    "triage": _l("Sent to the dispatch team, which will choose the administration"),
    "routed": _l("Sent to the administration"),
    "received": _l("Received by the administration"),
    "in_progress": _l("The administration started dealing with your request"),
    "information_requested": _l("The administration asked you for more information"),
    "answered": _l("The administration answered"),
    "closed": _l("Request closed"),
}

# ... and when it is an event (an event entry may carry the status it led to as well).
TIMELINE_EVENTS = {
    "acknowledged": _l("The administration started dealing with your request"),
    "information_requested": _l("The administration asked you for more information"),
    "citizen_message": _l("You wrote to the administration"),
    "answered": _l("The administration answered"),
    "rated": _l("You rated the answer %(score)s out of 5"),
    "closed": _l("Request closed: %(reason)s"),
    "reopened": _l("You reopened the request: it went back to the administration"),
    "transferred": _l("Transferred to the competent administration: %(administration)s"),
    "deadline_passed": _l("The legal time for the answer ran out"),
}

NOTIFICATION_CHANNELS = {
    "sms": _l("Tracking number sent by SMS"),
    "email": _l("Tracking number sent by e-mail"),
}
# a notification of any later step
NOTIFIED_BY = {
    "sms": _l("We told you by SMS"),
    "email": _l("We told you by e-mail"),
}


def timeline_label(entry: dict, administration_name=lambda code: code) -> str:
    """One timeline entry as a sentence; `administration_name(code)` names a transfer's destination."""
    detail = entry.get("detail") or {}
    event = entry.get("event")
    if event == "notification_sent":
        channels = NOTIFICATION_CHANNELS if detail.get("template") in (None, "complaint_submitted") else NOTIFIED_BY
        return str(channels.get(detail.get("channel"), detail.get("channel") or event))
    if event in TIMELINE_EVENTS:
        reason = detail.get("reason")
        return str(TIMELINE_EVENTS[event] % {
            "score": detail.get("score"),
            "reason": CLOSE_REASONS.get(reason, reason),
            "administration": administration_name(detail.get("administration_code")),
        })
    if entry.get("status"):
        return str(TIMELINE_STATUSES.get(entry["status"], entry["status"]))
    return event or ""

# The back office's words for where a complaint stands, from the administration's side.
CASE_STATUSES = {
    "submitted": _l("Filed, not yet routed"),
    "triage": _l("To dispatch"),
    "routed": _l("Sent, not yet received"),
    "received": _l("New"),
    "in_progress": _l("In progress"),
    "information_requested": _l("Waiting for the citizen's information"),
    "answered": _l("Answered"),
    "closed": _l("Closed"),
}

# Why a complaint was closed.
CLOSE_REASONS = {
    "resolved": _l("Resolved"),
    "not_founded": _l("Answered: not founded"),
    "outside_competence": _l("Outside the administration's competence"),
    "before_courts": _l("Matter before the courts"),
    "duplicate": _l("Duplicate of another request"),
    "confirmed_by_citizen": _l("The citizen confirmed the answer"),
    "no_reply_from_citizen": _l("Closed automatically: no reply from the citizen after the answer"),
}

ROLES = {
    "agent": _l("Agent"),
    "supervisor": _l("Supervisor"),
    "platform_agent": _l("Platform agent (dispatch of requests)"),
    "platform_admin": _l("Platform administrator"),
}

# What a message on a complaint's page is.
MESSAGE_KINDS = {
    "message": _l("Message"),
    "information_request": _l("Request for information"),
    "answer": _l("Answer"),
    "reopening": _l("Reopening"),
}

DELIVERY_CHANNELS = {"sms": _l("SMS"), "email": _l("E-mail")}
DELIVERY_STATUSES = {"queued": _l("Waiting to be sent"), "sent": _l("Sent"), "delivered": _l("Delivered"),
                     "failed": _l("Failed")}

# What an entry of a complaint's access log records.
ACCESS_ACTIONS = {"view": _l("Opened the request"), "attachment": _l("Downloaded a document")}

# What a message notify sent was about (its template: services/notify/templates): the
# citizen's, and the administration's about its deadlines.
NOTIFICATION_TEMPLATES = {
    "complaint_submitted": _l("Tracking number"),
    "complaint_acknowledged": _l("Received by the administration"),
    "complaint_information_requested": _l("Request for information"),
    "complaint_answered": _l("Answer"),
    "complaint_closed": _l("Request closed"),
    "complaint_transferred": _l("Transfer to another administration"),
    "complaint_reopened": _l("Reopening"),
    "complaint_deadline_passed": _l("The legal time for the answer ran out"),
    "administration_deadline_approaching": _l("Reminder to the administration: the deadline is near"),
    "supervisor_deadline_passed": _l("Notice to the supervisor: the deadline passed"),
}
