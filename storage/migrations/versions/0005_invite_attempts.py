"""Wrong invite codes are throttled: invite_attempts counts them per Telegram user and keeps the lock-out.

Revision ID: 0005_invite_attempts
Revises: 0004_redcard_one_per_check
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005_invite_attempts'
down_revision: str | None = '0004_redcard_one_per_check'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('invite_attempts',
    sa.Column('telegram_user_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('failures', sa.Integer(), server_default='0', nullable=False),
    sa.Column('window_started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('telegram_user_id', name=op.f('pk_invite_attempts'))
    )


def downgrade() -> None:
    op.drop_table('invite_attempts')
