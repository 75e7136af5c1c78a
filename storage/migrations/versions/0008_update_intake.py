"""The durable update intake: inbound_updates keeps every Telegram update before it is acknowledged, and a
check remembers the update it answered (check_log.update_id), so a replayed update is not logged twice.

Revision ID: 0008_update_intake
Revises: 0007_digest_deliveries
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008_update_intake'
down_revision: str | None = '0007_digest_deliveries'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('inbound_updates',
    sa.Column('bot_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('user_key', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.SmallInteger(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('bot_id', 'update_id', name=op.f('pk_inbound_updates'))
    )
    op.create_index(op.f('ix_inbound_updates_status'), 'inbound_updates', ['status'], unique=False)
    op.create_index(op.f('ix_inbound_updates_done_at'), 'inbound_updates', ['done_at'], unique=False)
    op.create_index('ix_inbound_updates_open', 'inbound_updates', ['bot_id', 'user_key', 'update_id'], unique=False,
                    postgresql_where=sa.text('status < 2'), sqlite_where=sa.text('status < 2'))
    with op.batch_alter_table('check_log') as batch:
        batch.add_column(sa.Column('bot_id', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('update_id', sa.BigInteger(), nullable=True))
        batch.create_unique_constraint(op.f('uq_check_log_bot_id_update_id'), ['bot_id', 'update_id'])


def downgrade() -> None:
    with op.batch_alter_table('check_log') as batch:
        batch.drop_constraint(op.f('uq_check_log_bot_id_update_id'), type_='unique')
        batch.drop_column('update_id')
        batch.drop_column('bot_id')
    op.drop_index('ix_inbound_updates_open', table_name='inbound_updates')
    op.drop_index(op.f('ix_inbound_updates_done_at'), table_name='inbound_updates')
    op.drop_index(op.f('ix_inbound_updates_status'), table_name='inbound_updates')
    op.drop_table('inbound_updates')
