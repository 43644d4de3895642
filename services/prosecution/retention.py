"""Erase the personal data of prosecution complaints decided longer ago than RETENTION_DAYS
(730): `python -m services.prosecution.retention [--days N] [--dry-run]`.

What goes: the complainant's identity (identity number, names, birth date, nationality,
address, country, phone, e-mail), the account of the facts and the place, the accused persons'
names and description, the documents, files and all.  What stays: the category, office,
city and date of the facts, status, register number, decision and its reason, dates, the
timeline's steps, the pseudonym of a sealed identity and the access log, so the complaint still
counts and still shows who opened it.  The statistics service keeps only months, categories,
offices and counts and loses nothing.  `personal_data_erased_at` dates the erasure; an erased
complaint is never picked again.
"""
import sys

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from services.common.blobs import blob_store
from services.common.db import utcnow
from services.common.retention import BATCH, command
from services.prosecution.domain import DECISIONS
from services.prosecution.models import Base, Complaint

WHAT = "complaints decided"
COMPLAINANT = ("id_number", "first_name", "last_name", "birth_date", "nationality", "address", "country",
               "phone", "email")


def _erasable(cutoff):
    return (Complaint.status.in_(DECISIONS), Complaint.decided_at <= cutoff,
            Complaint.personal_data_erased_at.is_(None))


def erase_complaint(session, complaint, now, blobs) -> int:
    """Erases one complaint's personal data (loaded with its accused and attachments); returns
    how many documents went."""
    for field in COMPLAINANT:
        setattr(complaint, f"complainant_{field}", None)
    complaint.account = ""
    complaint.facts_place = None
    for accused in complaint.accused:
        accused.first_name = accused.last_name = accused.description = None
    documents = list(complaint.attachments)
    for attachment in documents:
        # the file first: if the commit fails, the row stays and the next run deletes it again
        blobs.delete(attachment.blob_key)
        session.delete(attachment)
    complaint.personal_data_erased_at = now
    return len(documents)


def erase(session, cutoff, dry_run: bool) -> dict:
    if dry_run:
        return {"complaints": session.scalar(select(func.count()).select_from(Complaint)
                                             .where(*_erasable(cutoff)))}
    blobs = blob_store()
    complaints = documents = 0
    while True:
        batch = session.scalars(
            select(Complaint).where(*_erasable(cutoff)).order_by(Complaint.id).limit(BATCH)
            .options(selectinload(Complaint.accused), selectinload(Complaint.attachments))
            .with_for_update(of=Complaint)).all()
        if not batch:
            return {"complaints": complaints, "documents": documents}
        now = utcnow()
        for complaint in batch:
            documents += erase_complaint(session, complaint, now, blobs)
        session.commit()
        complaints += len(batch)


def main(argv=None) -> int:
    return command("prosecution", Base.metadata, erase, WHAT, argv)


if __name__ == "__main__":
    sys.exit(main())
