"""Finds the lists' own keywords in a message, so an item's curated words speak to the model directly.

Each keyword found becomes the feature "kw:<item>": the model learns from the corpus how much a keyword of
each item is worth, and a deployer who adds a keyword to a list is heard at once (the model retrains).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from knowledge.model import Item


class KeywordIndex:
    def __init__(self, items: dict[str, Item], canonical: Callable[[str], str]):
        owners: dict[str, set[str]] = defaultdict(set)
        for item in items.values():
            for keyword in item.keywords:
                term = canonical(keyword)
                if len(term) >= 2:
                    owners[term].add(item.id)
        # Looked up by their first two characters: one dictionary probe per character of the message.
        self._by_pair: dict[str, list[tuple[str, tuple[str, ...]]]] = defaultdict(list)
        for term, ids in owners.items():
            self._by_pair[term[:2]].append((term, tuple(sorted(ids))))

    def items_in(self, text: str) -> set[str]:
        found: set[str] = set()
        by_pair = self._by_pair
        for i in range(len(text) - 1):
            for term, ids in by_pair.get(text[i:i + 2], ()):
                if text.startswith(term, i):
                    found.update(ids)
        return found
