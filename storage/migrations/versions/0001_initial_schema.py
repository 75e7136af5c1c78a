"""Initial schema: places, members, invites, check log, red cards, surveys, conversation state, digest, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index(op.f('ix_audit_log_at'), 'audit_log', ['at'])

    op.create_table('survey_periods',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_periods')),
    sa.UniqueConstraint('code', name=op.f('uq_survey_periods_code'))
    )
    op.create_table('towns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_towns')),
    sa.UniqueConstraint('code', name=op.f('uq_towns_code'))
    )
    op.create_table('digest_sends',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=48), nullable=False),
    sa.Column('town_id', sa.Integer(), nullable=True),
    sa.Column('iso_week', sa.String(length=10), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['town_id'], ['towns.id'], name=op.f('fk_digest_sends_town_id_towns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_sends')),
    sa.UniqueConstraint('scope', 'iso_week', name=op.f('uq_digest_sends_scope_iso_week'))
    )
    op.create_table('villages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('town_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['town_id'], ['towns.id'], name=op.f('fk_villages_town_id_towns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_villages')),
    sa.UniqueConstraint('code', name=op.f('uq_villages_code'))
    )
    op.create_index(op.f('ix_villages_town_id'), 'villages', ['town_id'])

    op.create_table('members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('telegram_user_id', sa.BigInteger(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=True),
    sa.Column('town_id', sa.Integer(), nullable=True),
    sa.Column('display_name', sa.String(length=200), server_default='', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(role = 'cadre' AND village_id IS NOT NULL) OR (role = 'bureau' AND town_id IS NOT NULL) OR role = 'admin'", name=op.f('ck_members_role_place')),
    sa.CheckConstraint("role IN ('cadre', 'bureau', 'admin')", name=op.f('ck_members_role')),
    sa.ForeignKeyConstraint(['town_id'], ['towns.id'], name=op.f('fk_members_town_id_towns')),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_members_village_id_villages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_members')),
    sa.UniqueConstraint('telegram_user_id', name=op.f('uq_members_telegram_user_id'))
    )
    op.create_index(op.f('ix_members_town_id'), 'members', ['town_id'])
    op.create_index(op.f('ix_members_village_id'), 'members', ['village_id'])

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
    op.create_table('survey_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('respondent_key', sa.String(length=64), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['period_id'], ['survey_periods.id'], name=op.f('fk_survey_responses_period_id_survey_periods')),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_survey_responses_village_id_villages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_responses')),
    sa.UniqueConstraint('respondent_key', name=op.f('uq_survey_responses_respondent_key'))
    )
    op.create_index(op.f('ix_survey_responses_period_id'), 'survey_responses', ['period_id'])
    op.create_index('ix_survey_responses_village_id_period_id', 'survey_responses', ['village_id', 'period_id'])

    op.create_table('check_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('verdict', sa.String(length=32), nullable=False),
    sa.Column('top_item_id', sa.String(length=32), nullable=True),
    sa.Column('village_id', sa.Integer(), nullable=True),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('feedback', sa.SmallInteger(), nullable=True),
    sa.CheckConstraint('feedback IN (-1, 1)', name=op.f('ck_check_log_feedback')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_check_log_member_id_members'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_check_log_village_id_villages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_log'))
    )
    op.create_index(op.f('ix_check_log_created_at'), 'check_log', ['created_at'])
    op.create_index('ix_check_log_village_id_created_at', 'check_log', ['village_id', 'created_at'])

    op.create_table('digest_subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('town_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_digest_subscriptions_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['town_id'], ['towns.id'], name=op.f('fk_digest_subscriptions_town_id_towns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_subscriptions')),
    sa.UniqueConstraint('member_id', name=op.f('uq_digest_subscriptions_member_id'))
    )
    op.create_index(op.f('ix_digest_subscriptions_town_id'), 'digest_subscriptions', ['town_id'])

    op.create_table('invites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=True),
    sa.Column('town_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_by', sa.Integer(), nullable=True),
    sa.CheckConstraint("role IN ('cadre', 'bureau', 'admin')", name=op.f('ck_invites_role')),
    sa.ForeignKeyConstraint(['town_id'], ['towns.id'], name=op.f('fk_invites_town_id_towns')),
    sa.ForeignKeyConstraint(['used_by'], ['members.id'], name=op.f('fk_invites_used_by_members'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_invites_village_id_villages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invites')),
    sa.UniqueConstraint('code', name=op.f('uq_invites_code'))
    )
    op.create_table('pending_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('chat_id', sa.BigInteger(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_pending_actions_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_actions')),
    sqlite_autoincrement=True,
    )
    op.create_index(op.f('ix_pending_actions_chat_id'), 'pending_actions', ['chat_id'])
    op.create_index(op.f('ix_pending_actions_expires_at'), 'pending_actions', ['expires_at'])
    op.create_index('ix_pending_actions_member_id_kind', 'pending_actions', ['member_id', 'kind'])

    op.create_table('red_cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('department', sa.String(length=100), nullable=False),
    sa.Column('item_id', sa.String(length=32), server_default='', nullable=False),
    sa.Column('task_text', sa.Text(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('count', sa.Integer(), server_default='1', nullable=False),
    sa.Column('status', sa.String(length=16), server_default='candidate', nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('candidate', 'confirmed', 'withdrawn', 'included')", name=op.f('ck_red_cards_status')),
    sa.CheckConstraint('count >= 1', name=op.f('ck_red_cards_count')),
    sa.ForeignKeyConstraint(['created_by'], ['members.id'], name=op.f('fk_red_cards_created_by_members'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_red_cards_village_id_villages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_red_cards')),
    sa.UniqueConstraint('village_id', 'department', 'item_id', 'period', name=op.f('uq_red_cards_village_id_department_item_id_period'))
    )
    op.create_index(op.f('ix_red_cards_created_at'), 'red_cards', ['created_at'])
    op.create_index('ix_red_cards_village_id_created_at', 'red_cards', ['village_id', 'created_at'])

    op.create_table('survey_answers',
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('aspect_code', sa.String(length=32), nullable=False),
    sa.Column('score', sa.SmallInteger(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('score BETWEEN 1 AND 5', name=op.f('ck_survey_answers_score')),
    sa.ForeignKeyConstraint(['period_id'], ['survey_periods.id'], name=op.f('fk_survey_answers_period_id_survey_periods')),
    sa.ForeignKeyConstraint(['response_id'], ['survey_responses.id'], name=op.f('fk_survey_answers_response_id_survey_responses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_survey_answers_village_id_villages')),
    sa.PrimaryKeyConstraint('response_id', 'aspect_code', name=op.f('pk_survey_answers'))
    )
    op.create_index('ix_survey_answers_period_village_aspect', 'survey_answers', ['period_id', 'village_id', 'aspect_code', 'score'])

    op.create_table('red_card_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('red_card_id', sa.Integer(), nullable=False),
    sa.Column('actor_member_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint("action IN ('created', 'reported_again', 'confirmed', 'withdrawn', 'included')", name=op.f('ck_red_card_events_action')),
    sa.ForeignKeyConstraint(['actor_member_id'], ['members.id'], name=op.f('fk_red_card_events_actor_member_id_members'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['red_card_id'], ['red_cards.id'], name=op.f('fk_red_card_events_red_card_id_red_cards'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_red_card_events'))
    )
    op.create_index(op.f('ix_red_card_events_at'), 'red_card_events', ['at'])
    op.create_index(op.f('ix_red_card_events_red_card_id'), 'red_card_events', ['red_card_id'])



def downgrade() -> None:
    op.drop_index(op.f('ix_red_card_events_red_card_id'), table_name='red_card_events')
    op.drop_index(op.f('ix_red_card_events_at'), table_name='red_card_events')

    op.drop_table('red_card_events')
    op.drop_index('ix_survey_answers_period_village_aspect', table_name='survey_answers')

    op.drop_table('survey_answers')
    op.drop_index('ix_red_cards_village_id_created_at', table_name='red_cards')
    op.drop_index(op.f('ix_red_cards_created_at'), table_name='red_cards')

    op.drop_table('red_cards')
    op.drop_index('ix_pending_actions_member_id_kind', table_name='pending_actions')
    op.drop_index(op.f('ix_pending_actions_expires_at'), table_name='pending_actions')
    op.drop_index(op.f('ix_pending_actions_chat_id'), table_name='pending_actions')

    op.drop_table('pending_actions')
    op.drop_table('invites')
    op.drop_index(op.f('ix_digest_subscriptions_town_id'), table_name='digest_subscriptions')

    op.drop_table('digest_subscriptions')
    op.drop_index('ix_check_log_village_id_created_at', table_name='check_log')
    op.drop_index(op.f('ix_check_log_created_at'), table_name='check_log')

    op.drop_table('check_log')
    op.drop_index('ix_survey_responses_village_id_period_id', table_name='survey_responses')
    op.drop_index(op.f('ix_survey_responses_period_id'), table_name='survey_responses')

    op.drop_table('survey_responses')
    op.drop_table('survey_drafts')
    op.drop_index(op.f('ix_members_village_id'), table_name='members')
    op.drop_index(op.f('ix_members_town_id'), table_name='members')

    op.drop_table('members')
    op.drop_index(op.f('ix_villages_town_id'), table_name='villages')

    op.drop_table('villages')
    op.drop_table('digest_sends')
    op.drop_table('towns')
    op.drop_table('survey_periods')
    op.drop_index(op.f('ix_audit_log_at'), table_name='audit_log')

    op.drop_table('audit_log')
