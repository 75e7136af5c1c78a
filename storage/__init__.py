"""cadrebot's storage: SQLAlchemy 2 models, Alembic migrations and small services (one job per module).

    storage.models     tables (see its docstring)          storage.db        engine, sessions, DatabaseUnavailable
    storage.migrate    Alembic, configured in code          storage.errors    domain exceptions
    storage.places     towns, villages, import              storage.members   invites, members, deep links
    storage.checklog   check log and 👍/👎                  storage.redcards  red-card candidates and timeline
    storage.surveys    periods, keys, drafts, responses     storage.pending   conversation state for buttons
    storage.digests    digest subscriptions and send log    storage.audit     audit log
    storage.timeutil   Asia/Shanghai calendar helpers
"""
