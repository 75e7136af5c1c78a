"""Multi-step conversations without Telegram: `(session, actor, input) -> typed result`.

Each module is one flow; its state lives in storage.pending (table pending_actions). A handler module maps the
results to texts and keyboards; bot/wiring.py registers the flow's step with the router. Nothing here imports
telegram, bot/ or handlers/.

flows/evaluation/ holds what the two-way evaluation's flows (and `cadrebot evaluation`) share: the basis (agreement
terms, grading scheme), each side's progress, the dossier and its XLSX/PDF, the departments' scoring form.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who acts, and where: the Telegram user and the chat (a private chat has the user's id)."""

    user_id: int
    chat_id: int


__all__ = ["Actor"]
