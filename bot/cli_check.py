"""`cadrebot check` and `cadrebot chat`: the task check from the command line and a local console chat.

`cadrebot check` without a task reads one task per line from a pipe or a file, as `--batch` does; at a terminal,
or when that input is empty, it prints how to use it and exits 2.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Iterator

from bot.console_input import TerminalInput, piped_lines
from bot.settings import Settings
from knowledge import KnowledgeBase, KnowledgeBaseError, from_settings
from knowledge.model import CheckResult, Verdict
from texts import check as T
from texts import console as C

QUIT = ("/quit", "/exit", "退出")
HELP = ("/start", "/help", "帮助")


def register(subparsers: argparse._SubParsersAction) -> None:
    check = subparsers.add_parser("check", help=C.HELP_CHECK, description=C.HELP_CHECK)
    check.add_argument("text", nargs="*", help=C.HELP_CHECK_TEXT)
    check.add_argument("--json", action="store_true", help=C.HELP_CHECK_JSON)
    check.add_argument("--batch", action="store_true", help=C.HELP_CHECK_BATCH)
    check.set_defaults(func=run_check)

    chat = subparsers.add_parser("chat", help=C.HELP_CHAT, description=C.HELP_CHAT)
    chat.set_defaults(func=run_chat)


def load_or_explain(settings: Settings) -> KnowledgeBase | None:
    try:
        return from_settings(settings)
    except KnowledgeBaseError as exc:
        print(C.KB_BROKEN, file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return None


def _answer(kb: KnowledgeBase, line: str | None) -> CheckResult:
    if line is None:
        return CheckResult(Verdict.UNCLEAR, (), T.INVALID_ENCODING, problem="invalid_utf8")
    return kb.check(line)


def _usage() -> int:
    print(C.CHECK_USAGE, file=sys.stderr)
    return 2


def run_check(args: argparse.Namespace) -> int:
    text = " ".join(args.text).strip()
    if args.text and not text:
        return _usage()
    if args.batch or not text:
        if not args.batch and sys.stdin.isatty():  # nobody is going to type tasks at a silent terminal
            return _usage()
        lines = piped_lines(sys.stdin.buffer)
        first = list(itertools.islice(lines, 1))  # read before loading the knowledge base (0.6 s)
        if not first and not args.batch:  # nothing piped in: the user forgot the task
            return _usage()
        kb = load_or_explain(args.settings)
        if kb is None:
            return 1
        for line in itertools.chain(first, lines):
            result = _answer(kb, line)
            if args.json:
                print(json.dumps(result.to_json(), ensure_ascii=False), flush=True)
            else:
                print(result.reply + "\n", flush=True)
        return 0
    kb = load_or_explain(args.settings)
    if kb is None:
        return 1
    result = kb.check(text)
    print(json.dumps(result.to_json(), ensure_ascii=False, indent=2) if args.json else result.reply)
    return 0


def _reply(kb: KnowledgeBase, line: str | None) -> str:
    """What the console says to one line."""
    if line is None:
        return C.CONSOLE_UNREADABLE
    if line.strip() in HELP:
        return C.WELCOME
    if line.strip().startswith("/"):  # a bot command: registration, surveys, the evaluation live in Telegram
        return C.CONSOLE_COMMAND.format(command=line.strip().split()[0][:30])
    return kb.check(line).reply


def _chat(kb: KnowledgeBase, lines: Iterator[str | None]) -> int:
    for line in lines:
        if line is not None and line.strip() in QUIT:
            return 0
        print(_reply(kb, line) + "\n", flush=True)
    return 0


def run_chat(args: argparse.Namespace) -> int:
    kb = load_or_explain(args.settings)
    if kb is None:
        return 1
    if not sys.stdin.isatty():  # piped: answer each line, no prompt, no line editing, no history
        return _chat(kb, piped_lines(sys.stdin.buffer))
    print(C.WELCOME)
    with TerminalInput(C.PROMPT, args.settings.data_dir) as typed:
        return _chat(kb, iter(typed))
