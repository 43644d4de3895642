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

# Where a complaint stands now, as a short phrase.
STATUSES = {
    "submitted": _l("Filed, waiting to be routed"),
    "triage": _l("Being dispatched to the administration concerned"),
    "routed": _l("Sent to the administration concerned"),
    "received": _l("Received by the administration"),
}

# What happened at one point of the timeline.
TIMELINE_STATUSES = {
    "submitted": _l("Request filed"),
    "triage": _l("Sent to the dispatch team, which will choose the administration"),
    "routed": _l("Sent to the administration"),
    "received": _l("Received by the administration"),
}

NOTIFICATION_CHANNELS = {
    "sms": _l("Tracking number sent by SMS"),
    "email": _l("Tracking number sent by e-mail"),
}


def timeline_label(entry: dict) -> str:
    if entry.get("status"):
        return TIMELINE_STATUSES.get(entry["status"], entry["status"])
    if entry.get("event") == "notification_sent":
        channel = (entry.get("detail") or {}).get("channel")
        return NOTIFICATION_CHANNELS.get(channel, channel or entry["event"])
    return entry.get("event", "")
