"""personal data encrypted, erasable

The complainant's name, identity number, e-mail and phone become Fernet tokens
(services.common.crypto: text columns wide enough for them), the rows stored so far are
encrypted in place, and those columns may be emptied by the retention command, which dates it
in personal_data_erased_at.  The outbox's events, which carry the complainant, are encrypted too.

Revision ID: intake_0003
Revises: intake_0002
Create Date: 2026-11-29 11:30:36.819004

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import services.common.db
from services.common.crypto import decrypt, decrypt_outbox, encrypt_outbox, encrypt_stored, rewrite_column_values


# revision identifiers, used by Alembic.
revision: str = 'intake_0003'
down_revision: Union[str, Sequence[str], None] = 'intake_0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# column: (its width before, nullable before)
PERSONAL = {"complainant_full_name": (120, False), "complainant_id_number": (20, False),
            "complainant_email": (254, True), "complainant_phone": (20, True)}


def upgrade() -> None:
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('personal_data_erased_at', services.common.db.UTCDateTime(timezone=True), nullable=True))
        for column, (width, _nullable) in PERSONAL.items():
            batch_op.alter_column(column, existing_type=sa.String(length=width), type_=sa.Text(), nullable=True)
    encrypt_stored(op.get_bind(), 'complaints', list(PERSONAL))
    encrypt_outbox()


def downgrade() -> None:
    """Back to clear text (a complaint whose personal data was erased cannot go back)."""
    decrypt_outbox()
    rewrite_column_values(op.get_bind(), 'complaints', list(PERSONAL), decrypt)
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        for column, (width, nullable) in PERSONAL.items():
            batch_op.alter_column(column, existing_type=sa.Text(), type_=sa.String(length=width), nullable=nullable)
        batch_op.drop_column('personal_data_erased_at')
