"""`cadrebot kb validate`: checks every knowledge-base file and says what to fix, by file and line."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from knowledge.loader import read_knowledge
from texts import console as C


def register(subparsers: argparse._SubParsersAction) -> None:
    kb = subparsers.add_parser("kb", help=C.HELP_KB, description=C.HELP_KB)
    kb_sub = kb.add_subparsers(dest="kb_command", metavar="ACTION", title=C.ARG_COMMANDS)
    validate = kb_sub.add_parser("validate", help=C.HELP_KB_VALIDATE, description=C.HELP_KB_VALIDATE)
    validate.add_argument("--data-dir", metavar="DIR", help=C.HELP_KB_DATA_DIR)
    validate.set_defaults(func=run_validate)
    kb.set_defaults(func=lambda args: (kb.print_help(), 2)[1])


def run_validate(args: argparse.Namespace) -> int:
    settings = args.settings
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
