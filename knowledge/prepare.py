"""From a cadre's raw message to the canonical text and words that the model and the rules read.

normalise (simplified, half-width, no emoji) → dialect words to Mandarin → synonyms to canonical terms →
cut into words → people's names masked → mis-heard words recovered by their sound.
"""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.names import NameMasker
from knowledge.normalize import normalize
from knowledge.recovery import SoundAlikes
from knowledge.tokenizer import Tokenizer, meaningful
from knowledge.vocabulary import Readings, SynonymRewriter


@dataclass(frozen=True)
class Prepared:
    text: str  # canonical: what every later step reads
    words: tuple[str, ...]  # meaningful words, stopwords dropped
    canonical: str  # before names were masked and sounds recovered: where departments are looked up


class Preparer:
    def __init__(self, dialect: dict[str, str], synonyms: dict[str, str], tokenizer: Tokenizer, readings: Readings,
                 surnames: str, terms: set[str], departments: set[str]):
        self.dialect = SynonymRewriter(dialect)
        self.synonyms = SynonymRewriter(synonyms)
        self.tokenizer = tokenizer
        self.readings = readings
        dictionary = tokenizer.dictionary()
        self.names = NameMasker(tokenizer.person_names(), set(surnames))
        # Department names and longer terms are never cut into by a sound-alike ("区|卫健委" is no 区委).
        protected = departments | {t for t in terms if len(t) >= 3}
        self.sound_alikes = SoundAlikes(readings, terms, dictionary, protected)

    def canonical(self, text: str) -> str:
        """Normalised, dialect and synonyms rewritten: the form the data's own terms are compared in."""
        return self.synonyms.rewrite(self.dialect.rewrite(normalize(text)))

    def prepare(self, text: str) -> Prepared:
        canon = self.canonical(text)
        tokens = self.names.mask(self.tokenizer.tokens(canon), self.sound_alikes.misheard)
        masked = "".join(word for word, _, _ in tokens)
        recovered = self.sound_alikes.recover(masked, _shifted(tokens))
        if recovered != masked:
            recovered = self.synonyms.rewrite(recovered)
            words = self.tokenizer.words(recovered)
        else:
            words = meaningful(tokens)
        return Prepared(recovered, tuple(words), canon)


def _shifted(tokens: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Token positions in the text as rebuilt from the tokens (a masked name changes the lengths)."""
    out, position = [], 0
    for word, _, _ in tokens:
        out.append((word, position, position + len(word)))
        position += len(word)
    return out
