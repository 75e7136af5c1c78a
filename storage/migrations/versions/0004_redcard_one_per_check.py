"""A check raises at most one red-card report: red_card_reports, keyed by the check.

Pressing 记为红牌候选 several times on one answer used to count the card once per press. Earlier reports are not
linked to their check, so the table starts empty.

Revision ID: 0004_redcard_one_per_check
Revises: 0003_redcard_departments
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004_redcard_one_per_check'
down_revision: str | None = '0003_redcard_departments'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('red_card_reports',
    sa.Column('check_id', sa.Integer(), nullable=False),
    sa.Column('red_card_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['check_id'], ['check_log.id'], name=op.f('fk_red_card_reports_check_id_check_log'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['red_card_id'], ['red_cards.id'],
                            name=op.f('fk_red_card_reports_red_card_id_red_cards'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('check_id', name=op.f('pk_red_card_reports'))
    )
    op.create_index(op.f('ix_red_card_reports_red_card_id'), 'red_card_reports', ['red_card_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_red_card_reports_red_card_id'), table_name='red_card_reports')
    op.drop_table('red_card_reports')
