"""prosecution staff (an office per account) and the captcha challenges

Revision ID: gateway_0002
Revises: gateway_0001
Create Date: 2026-11-29 11:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import services.common.db


# revision identifiers, used by Alembic.
revision: str = 'gateway_0002'
down_revision: Union[str, Sequence[str], None] = 'gateway_0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OLD_ROLES = "role IN ('agent', 'supervisor', 'platform_agent', 'platform_admin')"
NEW_ROLES = "role IN ('agent', 'supervisor', 'platform_agent', 'platform_admin', 'prosecution_clerk', 'chief_prosecutor')"
OFFICE_MATCHES_ROLE = "(role IN ('prosecution_clerk', 'chief_prosecutor')) = (office_code IS NOT NULL)"


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('office_code', sa.String(length=40), nullable=True))
        batch_op.create_index(batch_op.f('ix_agents_office_code'), ['office_code'], unique=False)
        batch_op.drop_constraint('agents_role_known', type_='check')
        batch_op.create_check_constraint('agents_role_known', NEW_ROLES)
        batch_op.create_check_constraint('agents_office_matches_role', OFFICE_MATCHES_ROLE)

    op.create_table('captcha_challenges',
    sa.Column('id', sa.String(length=43), nullable=False),
    sa.Column('answer', sa.String(length=6), nullable=False),
    sa.Column('created_at', services.common.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('solved_at', services.common.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('spent_at', services.common.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('captcha_challenges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_captcha_challenges_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('captcha_challenges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_captcha_challenges_created_at'))
    op.drop_table('captcha_challenges')
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_constraint('agents_office_matches_role', type_='check')
        batch_op.drop_constraint('agents_role_known', type_='check')
        batch_op.create_check_constraint('agents_role_known', OLD_ROLES)
        batch_op.drop_index(batch_op.f('ix_agents_office_code'))
        batch_op.drop_column('office_code')
