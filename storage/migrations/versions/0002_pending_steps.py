"""One store for pending steps: surveys in progress move from survey_drafts into pending_actions.

pending_actions gains `owner_key` (an HMAC; the survey's owner stays anonymous: no member_id, no chat_id) with a
unique index on (owner_key, kind). Each draft becomes a row of kind 'survey' whose expiry is its last update plus the
seven days a draft was kept (storage.surveys.DRAFT_MAX_AGE), so the one purge of expired steps drops abandoned
surveys. Then survey_drafts is dropped. Downgrade moves the rows back.

Revision ID: 0002_pending_steps
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision: str = '0002_pending_steps'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DRAFT_KIND = 'survey'  # frozen copies of storage.surveys.DRAFT_KIND and DRAFT_MAX_AGE
DRAFT_MAX_AGE = timedelta(days=7)

pending_actions = sa.table(
    'pending_actions',
    sa.column('id', sa.Integer()),
    sa.column('member_id', sa.Integer()),
    sa.column('chat_id', sa.BigInteger()),
    sa.column('owner_key', sa.String(64)),
    sa.column('kind', sa.String(32)),
    sa.column('payload', sa.JSON()),
    sa.column('created_at', sa.DateTime(timezone=True)),
    sa.column('expires_at', sa.DateTime(timezone=True)),
)
survey_drafts = sa.table(
    'survey_drafts',
    sa.column('respondent_key', sa.String(64)),
    sa.column('owner_key', sa.String(64)),
    sa.column('village_id', sa.Integer()),
    sa.column('period_id', sa.Integer()),
    sa.column('stage', sa.String(16)),
    sa.column('step', sa.Integer()),
    sa.column('answers', sa.JSON()),
    sa.column('comment', sa.Text()),
    sa.column('replace_existing', sa.Boolean()),
    sa.column('updated_at', sa.DateTime(timezone=True)),
)


def _create_survey_drafts() -> None:
    op.create_table('survey_drafts',
    sa.Column('respondent_key', sa.String(length=64), nullable=False),
    sa.Column('owner_key', sa.String(length=64), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=16), server_default='aspects', nullable=False),
    sa.Column('step', sa.Integer(), server_default='0', nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('replace_existing', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['period_id'], ['survey_periods.id'], name=op.f('fk_survey_drafts_period_id_survey_periods'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_survey_drafts_village_id_villages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('respondent_key', name=op.f('pk_survey_drafts')),
    sa.UniqueConstraint('owner_key', name=op.f('uq_survey_drafts_owner_key'))
    )


def upgrade() -> None:
    # ADD COLUMN and CREATE INDEX need no table rebuild on SQLite (a rebuild would lose AUTOINCREMENT)
    op.add_column('pending_actions', sa.Column('owner_key', sa.String(length=64), nullable=True))
    op.create_index('ix_pending_actions_owner_key_kind', 'pending_actions', ['owner_key', 'kind'], unique=True)

    bind = op.get_bind()
    drafts = bind.execute(sa.select(survey_drafts)).mappings().all()
    rows = [
        {
            'member_id': None,
            'chat_id': None,
            'owner_key': draft['owner_key'],
            'kind': DRAFT_KIND,
            'payload': {
                'respondent_key': draft['respondent_key'],
                'village_id': draft['village_id'],
                'period_id': draft['period_id'],
                'stage': draft['stage'],
                'step': draft['step'],
                'answers': draft['answers'] or {},
                'comment': draft['comment'],
                'replace_existing': bool(draft['replace_existing']),
            },
            'created_at': draft['updated_at'],
            'expires_at': draft['updated_at'] + DRAFT_MAX_AGE,
        }
        for draft in drafts
    ]
    if rows:
        op.bulk_insert(pending_actions, rows)
    op.drop_table('survey_drafts')


def downgrade() -> None:
    _create_survey_drafts()
    bind = op.get_bind()
    steps = bind.execute(
        sa.select(pending_actions).where(pending_actions.c.kind == DRAFT_KIND, pending_actions.c.owner_key.is_not(None))
    ).mappings().all()
    villages = set(bind.execute(sa.text('SELECT id FROM villages')).scalars())
    periods = set(bind.execute(sa.text('SELECT id FROM survey_periods')).scalars())
    rows = []
    for step in steps:
        payload = step['payload'] if isinstance(step['payload'], dict) else {}
        try:
            row = {
                'respondent_key': str(payload['respondent_key']),
                'owner_key': step['owner_key'],
                'village_id': int(payload['village_id']),
                'period_id': int(payload['period_id']),
                'stage': str(payload.get('stage') or 'aspects'),
                'step': int(payload.get('step') or 0),
                'answers': payload.get('answers') or {},
                'comment': payload.get('comment'),
                'replace_existing': bool(payload.get('replace_existing')),
                'updated_at': (step['expires_at'] - DRAFT_MAX_AGE) if step['expires_at'] is not None
                else step['created_at'],
            }
        except (KeyError, TypeError, ValueError):
            continue  # a damaged draft is not worth a failed downgrade
        if row['village_id'] in villages and row['period_id'] in periods:  # the old table's foreign keys
            rows.append(row)
    if rows:
        op.bulk_insert(survey_drafts, rows)
    op.execute(pending_actions.delete().where(pending_actions.c.owner_key.is_not(None)))
    op.drop_index('ix_pending_actions_owner_key_kind', table_name='pending_actions')
    with op.batch_alter_table('pending_actions', table_kwargs={'sqlite_autoincrement': True}) as batch:
        batch.drop_column('owner_key')
