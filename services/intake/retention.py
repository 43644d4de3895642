"""Erase the personal data of complaints closed longer ago than RETENTION_DAYS (730):
`python -m services.intake.retention [--days N] [--dry-run]`.

What goes: the complainant's name, identity number, e-mail and phone; everything written in
their own or the administration's words, which can name people (subject, description,
messages, the answer, the rating's comment, agents' notes, a transfer's reason); the
attachments, files and all.  What stays: the type, administration, region, language, status,
dates, deadlines, the closing reason, the rating's score, the timeline's steps and the access
log, so the complaint still counts and still shows who looked at it.  The statistics service
keeps only codes, dates and counts (services/stats/models.py) and loses nothing.
`personal_data_erased_at` dates the erasure; an erased complaint is never picked again.
"""
import sys

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from services.common.blobs import blob_store
from services.common.db import utcnow
from services.common.retention import BATCH, command
from services.intake.models import Base, Complaint, Message

WHAT = "complaints closed"


def _erasable(cutoff):
    return (Complaint.status == "closed", Complaint.closed_at <= cutoff,
            Complaint.personal_data_erased_at.is_(None))


def erase_complaint(session, complaint, now, blobs) -> int:
    """Erases one complaint's personal data (loaded with its attachments, messages, notes and
    timeline); returns how many attachments went."""
    complaint.complainant_full_name = complaint.complainant_id_number = None
    complaint.complainant_email = complaint.complainant_phone = None
    complaint.subject = complaint.description = ""
    complaint.answer_text = complaint.rating_comment = None
    for message in complaint.messages:
        message.text = ""
    for note in complaint.notes:
        note.text = ""
    for entry in complaint.timeline:
        if "reason" in entry.detail and entry.event == "transferred":
            entry.detail = {key: value for key, value in entry.detail.items() if key != "reason"}
    attachments = list(complaint.attachments)
    for attachment in attachments:
        # the file first: if the commit fails, the row stays and the next run deletes it again
        blobs.delete(attachment.blob_key)
        session.delete(attachment)
    complaint.personal_data_erased_at = now
    return len(attachments)


def erase(session, cutoff, dry_run: bool) -> dict:
    if dry_run:
        return {"complaints": session.scalar(select(func.count()).select_from(Complaint)
                                             .where(*_erasable(cutoff)))}
    blobs = blob_store()
    complaints = attachments = 0
    while True:
        batch = session.scalars(
            select(Complaint).where(*_erasable(cutoff)).order_by(Complaint.id).limit(BATCH)
            .options(selectinload(Complaint.attachments), selectinload(Complaint.timeline),
                     selectinload(Complaint.messages).selectinload(Message.attachments),
                     selectinload(Complaint.notes))
            .with_for_update(of=Complaint)).all()
        if not batch:
            return {"complaints": complaints, "attachments": attachments}
        now = utcnow()
        for complaint in batch:
            attachments += erase_complaint(session, complaint, now, blobs)
        session.commit()
        complaints += len(batch)


def main(argv=None) -> int:
    return command("intake", Base.metadata, erase, WHAT, argv)


if __name__ == "__main__":
    sys.exit(main())
