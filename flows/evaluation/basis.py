"""What every evaluation step needs besides the database: the town agreement's terms, the grading scheme, item
titles, the survey's aspects and the time zone, read once from the knowledge base and the settings.

    basis = EvaluationBasis.from_settings(settings)        # the CLI: reads the lists, builds no model
    basis = EvaluationBasis.from_raw(kb.raw, settings)     # the bot: from the knowledge base it has loaded
    basis.require_town(rnd.town.code)                      # NotFound('agreement', code) for a town without one
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from knowledge.evaluation_terms import AgreedItem, AgreementTerms, EvaluationScheme, agreement_terms, evaluation_scheme
from storage.errors import NotFound
from storage.surveys import Aspect as SurveyAspect
from storage.surveys import configured_aspects

if TYPE_CHECKING:
    from knowledge.loader import RawKnowledge


@dataclass(frozen=True)
class EvaluationBasis:
    terms: AgreementTerms
    scheme: EvaluationScheme
    item_titles: dict[str, str]
    survey_aspects: tuple[SurveyAspect, ...]
    tz: str

    @classmethod
    def from_raw(cls, raw: RawKnowledge, settings: Any) -> EvaluationBasis:
        return cls(agreement_terms(raw), evaluation_scheme(raw), {i: item.title for i, item in raw.items.items()},
                   configured_aspects(settings.survey_aspects), settings.timezone)

    @classmethod
    def from_settings(cls, settings: Any) -> EvaluationBasis:
        from knowledge.loader import read_knowledge

        raw = read_knowledge(Path(settings.knowledge_dir) if settings.knowledge_dir else None, settings.profile,
                             settings.agreement or None, with_corpus=False)
        return cls.from_raw(raw, settings)

    def require_town(self, town_code: str) -> AgreementTerms:
        """The agreement's terms if they are this town's; a round of another town has no agreement to score."""
        if not self.terms.town_code or self.terms.town_code != town_code:
            raise NotFound("agreement", town_code)
        return self.terms

    def item_of(self, department: str, item_id: str) -> AgreedItem | None:
        """The agreed item if `department` commissioned it."""
        item = self.terms.item(item_id)
        return item if item is not None and item.department_key == department else None


__all__ = ["EvaluationBasis"]
