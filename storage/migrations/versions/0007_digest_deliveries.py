"""Digest deliveries per recipient: digest_deliveries records, for each recipient of a (scope, ISO week), which
parts of the digest arrived, how often sending failed and when it is tried again.

Weeks sent before this revision have no rows here; their digest_sends rows still mark them done.

Revision ID: 0007_digest_deliveries
Revises: 0006_survey_key_erasure
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007_digest_deliveries'
down_revision: str | None = '0006_survey_key_erasure'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('digest_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=48), nullable=False),
    sa.Column('town_id', sa.Integer(), nullable=True),
    sa.Column('iso_week', sa.String(length=10), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.String(length=32), nullable=True),
    sa.Column('messages_sent', sa.Integer(), nullable=False),
    sa.Column('text_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('xlsx_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('png_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'retrying', 'sent', 'given_up')",
                       name=op.f('ck_digest_deliveries_status')),
    sa.ForeignKeyConstraint(['town_id'], ['towns.id'], name=op.f('fk_digest_deliveries_town_id_towns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_deliveries')),
    sa.UniqueConstraint('scope', 'iso_week', 'chat_id', name=op.f('uq_digest_deliveries_scope_iso_week_chat_id'))
    )
    op.create_index('ix_digest_deliveries_due', 'digest_deliveries', ['status', 'next_attempt_at'])


def downgrade() -> None:
    op.drop_index('ix_digest_deliveries_due', table_name='digest_deliveries')
    op.drop_table('digest_deliveries')
