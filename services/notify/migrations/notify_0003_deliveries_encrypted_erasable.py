"""deliveries encrypted, erasable

A delivery's recipient and message become Fernet tokens (services.common.crypto), the rows
stored so far are encrypted in place, and the retention command may empty them.  The recipient,
encrypted differently every time, leaves the unique key: an event calls for each template once
per channel, so (event_id, channel, template) keeps a message from being recorded twice.  The
outbox's events are encrypted too.

Revision ID: notify_0003
Revises: notify_0002
Create Date: 2026-11-29 11:30:43.136804

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from services.common.crypto import decrypt, decrypt_outbox, encrypt_outbox, encrypt_stored, rewrite_column_values


# revision identifiers, used by Alembic.
revision: str = 'notify_0003'
down_revision: Union[str, Sequence[str], None] = 'notify_0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PERSONAL = ["recipient", "subject", "body", "html"]
OLD_KEY = ["event_id", "channel", "recipient"]
# SQLite's unique constraints are unnamed: batch mode names the reflected one after this
NAMING = {"uq": "uq_%(table_name)s_%(column_0_N_name)s"}


def _constraint_name(columns) -> str:
    found = next(constraint for constraint in sa.inspect(op.get_bind()).get_unique_constraints('deliveries')
                 if constraint["column_names"] == columns)
    return found["name"] or "uq_deliveries_" + "_".join(columns)


def upgrade() -> None:
    old_key = _constraint_name(OLD_KEY)
    with op.batch_alter_table('deliveries', schema=None, naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint(old_key, type_='unique')
        batch_op.alter_column('recipient', existing_type=sa.String(length=254), type_=sa.Text(), nullable=True)
        batch_op.alter_column('body', existing_type=sa.Text(), nullable=True, server_default=None)
        batch_op.create_unique_constraint('uq_deliveries_event_channel_template', ['event_id', 'channel', 'template'])
    encrypt_stored(op.get_bind(), 'deliveries', PERSONAL)
    encrypt_outbox()


def downgrade() -> None:
    """Back to clear text (deliveries whose message was erased cannot go back)."""
    decrypt_outbox()
    rewrite_column_values(op.get_bind(), 'deliveries', PERSONAL, decrypt)
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_constraint('uq_deliveries_event_channel_template', type_='unique')
        batch_op.alter_column('body', existing_type=sa.Text(), nullable=False, server_default='')
        batch_op.alter_column('recipient', existing_type=sa.Text(), type_=sa.String(length=254), nullable=False)
        batch_op.create_unique_constraint('deliveries_event_id_channel_recipient_key', OLD_KEY)
