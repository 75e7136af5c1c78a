"""`cadrebot kb validate`: checks every knowledge-base file and says what to fix, by file and line."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from bot.settings import Settings
from texts import console as C
from knowledge.loader import read_knowledge


def register(subparsers: argparse._SubParsersAction) -> None:
    kb = subparsers.add_parser("kb", help="知识库工具 / knowledge-base tools")
    kb_sub = kb.add_subparsers(dest="kb_command", metavar="KB_COMMAND")
    validate = kb_sub.add_parser("validate", help="检查全部知识库文件")
    validate.add_argument("--data-dir", help="知识库目录（默认：内置或 CADREBOT_KNOWLEDGE_DIR）")
    validate.set_defaults(func=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    settings = Settings()
    data_dir = args.data_dir or settings.knowledge_dir or None
    raw = read_knowledge(Path(data_dir) if data_dir else None, settings.profile, settings.agreement or None)
    if raw.problems:
        print(C.INVALID.format(n=len(raw.problems)))
        for problem in raw.problems:
            print(f"  {problem}")
        return 1
    counts = Counter(item.id[0] for item in raw.items.values())
    print(C.VALID.format(items=len(raw.items), counts=" ".join(f"{k}{v}" for k, v in sorted(counts.items())),
                         synonyms=len(set(raw.synonyms.values())), departments=len(raw.departments)))
    return 0
