"""complaints indexed by submission date

The public search (public_requests, behind Open311's GET requests) always asks for a range of
submitted_at, newest first, 1000 at most: without this index every call read and sorted the
whole complaints table.  Its other filters (administration and type, status) add nothing
worth an index once this one narrows the range: the planner keeps to it.

Revision ID: intake_0004
Revises: intake_0003
Create Date: 2026-12-05 07:25:41.492227

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = 'intake_0004'
down_revision: Union[str, Sequence[str], None] = 'intake_0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaints_submitted_at'), ['submitted_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaints_submitted_at'))
