from __future__ import annotations

import pytest

from knowledge import KnowledgeBase, load_knowledge_base


@pytest.fixture(scope="session")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return load_knowledge_base(cache_dir=tmp_path_factory.mktemp("jieba-cache"))
