"""The per-user rate limit shared by workers in several processes: rate_windows keeps each user's recent hit
times (keyed by a keyed hash of the user) so that N workers do not each allow the limit.

Revision ID: 0010_shared_rate_limit
Revises: 0009_two_way_evaluation
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010_shared_rate_limit'
down_revision: str | None = '0009_two_way_evaluation'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('rate_windows',
    sa.Column('user_key', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('hits', sa.JSON(), nullable=False),
    sa.Column('quiet_until', sa.Float(), nullable=False),
    sa.Column('last_hit', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('user_key', 'kind', name=op.f('pk_rate_windows'))
    )
    op.create_index(op.f('ix_rate_windows_last_hit'), 'rate_windows', ['last_hit'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_rate_windows_last_hit'), table_name='rate_windows')
    op.drop_table('rate_windows')
