"""Erase the recipient and the message of deliveries made longer ago than RETENTION_DAYS (730):
`python -m services.notify.retention [--days N] [--dry-run]`.

Notify does not know when a complaint closed, so the period counts from the message: one sent
two years ago is no longer needed to tell the citizen anything.  What goes: the recipient (phone
or e-mail), the subject, the text and the HTML.  What stays: the channel, template, language,
status, provider and its id, attempts, the (already address-free) reason of a failure and the
dates, so the notification history still shows what was sent when.  A delivery still waiting
for another attempt is left alone.  Erasing twice changes nothing.
"""
import sys

from sqlalchemy import func, or_, select, update

from services.common.retention import command
from services.notify.models import Base, Delivery

WHAT = "messages made"


def _erasable(cutoff):
    return (Delivery.created_at <= cutoff,
            or_(Delivery.status != "queued", Delivery.next_attempt_at.is_(None)),
            or_(*(column.is_not(None) for column in (Delivery.recipient, Delivery.subject,
                                                     Delivery.body, Delivery.html))))


def erase(session, cutoff, dry_run: bool) -> dict:
    if dry_run:
        return {"deliveries": session.scalar(select(func.count()).select_from(Delivery)
                                             .where(*_erasable(cutoff)))}
    erased = session.execute(update(Delivery).where(*_erasable(cutoff))
                             # the delivery's dates stay those of the message
                             .values(recipient=None, subject=None, body=None, html=None,
                                     updated_at=Delivery.updated_at)
                             .execution_options(synchronize_session=False)).rowcount
    session.commit()
    return {"deliveries": erased}


def main(argv=None) -> int:
    return command("notify", Base.metadata, erase, WHAT, argv)


if __name__ == "__main__":
    sys.exit(main())
