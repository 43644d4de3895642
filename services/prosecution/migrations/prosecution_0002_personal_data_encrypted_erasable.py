"""personal data encrypted, erasable

The complainant's identity number, names, birth date, address, phone and e-mail, and an accused
person's names and description, become Fernet tokens (services.common.crypto: text columns wide
enough for them; the birth date an encrypted ISO date), the rows stored so far are encrypted in
place, and the retention command may empty the complainant's identity (nationality and country
included), dating it in personal_data_erased_at.  The outbox's events, which carry the
complainant's contact, are encrypted too.

Revision ID: prosecution_0002
Revises: prosecution_0001
Create Date: 2026-11-29 11:30:39.853716

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import services.common.db
from services.common.crypto import decrypt, decrypt_outbox, encrypt_outbox, encrypt_stored, rewrite_column_values


# revision identifiers, used by Alembic.
revision: str = 'prosecution_0002'
down_revision: Union[str, Sequence[str], None] = 'prosecution_0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# column: (its type before, nullable before)
ENCRYPTED = {"complainant_id_number": (sa.String(20), False), "complainant_first_name": (sa.String(80), False),
             "complainant_last_name": (sa.String(80), False), "complainant_birth_date": (sa.Date(), False),
             "complainant_address": (sa.String(300), False), "complainant_phone": (sa.String(20), False),
             "complainant_email": (sa.String(254), True)}
ERASABLE = ("complainant_nationality", "complainant_country")
ACCUSED = {"first_name": sa.String(80), "last_name": sa.String(80)}  # and description, a text already


def upgrade() -> None:
    with op.batch_alter_table('accused', schema=None) as batch_op:
        for column, before in ACCUSED.items():
            batch_op.alter_column(column, existing_type=before, type_=sa.Text(), existing_nullable=True)
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('personal_data_erased_at', services.common.db.UTCDateTime(timezone=True), nullable=True))
        for column, (before, _nullable) in ENCRYPTED.items():
            batch_op.alter_column(column, existing_type=before, type_=sa.Text(), nullable=True,
                                  postgresql_using=f"{column}::text")
        for column in ERASABLE:
            batch_op.alter_column(column, existing_type=sa.String(80), nullable=True)
    encrypt_stored(op.get_bind(), 'complaints', list(ENCRYPTED))
    encrypt_stored(op.get_bind(), 'accused', [*ACCUSED, 'description'])
    encrypt_outbox()


def downgrade() -> None:
    """Back to clear text (a complaint whose personal data was erased cannot go back)."""
    decrypt_outbox()
    rewrite_column_values(op.get_bind(), 'complaints', list(ENCRYPTED), decrypt)
    rewrite_column_values(op.get_bind(), 'accused', [*ACCUSED, 'description'], decrypt)
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        for column in ERASABLE:
            batch_op.alter_column(column, existing_type=sa.String(80), nullable=False)
        for column, (before, nullable) in ENCRYPTED.items():
            if sqlite and isinstance(before, sa.Date):
                before = sa.Text()  # SQLite's CAST to DATE would keep the year only; its dates are text anyway
            batch_op.alter_column(column, existing_type=sa.Text(), type_=before, nullable=nullable,
                                  postgresql_using=f"{column}::{'date' if isinstance(before, sa.Date) else 'text'}")
        batch_op.drop_column('personal_data_erased_at')
    with op.batch_alter_table('accused', schema=None) as batch_op:
        for column, before in ACCUSED.items():
            batch_op.alter_column(column, existing_type=sa.Text(), type_=before, existing_nullable=True)

