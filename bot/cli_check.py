"""`cadrebot check` and `cadrebot chat`: the task check from the command line and a local console chat."""

from __future__ import annotations

import argparse
import json
import sys
from typing import BinaryIO, Iterator

from bot.settings import Settings
from texts import check as T
from texts import console as C
from knowledge import KnowledgeBase, KnowledgeBaseError, from_settings
from knowledge.model import CheckResult


def register(subparsers: argparse._SubParsersAction) -> None:
    check = subparsers.add_parser("check", help="判断一项任务在不在清单内 / check one task")
    check.add_argument("text", nargs="*", help="任务内容；省略时配合 --batch 从标准输入读取")
    check.add_argument("--json", action="store_true", help="输出 JSON")
    check.add_argument("--batch", action="store_true", help="每行一条，逐行输出（只加载一次知识库）")
    check.set_defaults(func=run_check)

    chat = subparsers.add_parser("chat", help="本地控制台对话（无需 Telegram）/ local console chat")
    chat.set_defaults(func=run_chat)


def load_or_explain() -> KnowledgeBase | None:
    try:
        return from_settings(Settings())
    except KnowledgeBaseError as exc:
        print(C.KB_BROKEN, file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return None


def _lines(stream: BinaryIO) -> Iterator[str | None]:
    """Each input line as text, or None where it is not valid UTF-8 (so one bad line costs one line)."""
    for raw in stream:
        try:
            yield raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            yield None


def _answer(kb: KnowledgeBase, line: str | None) -> CheckResult:
    if line is None:
        return CheckResult("unclear", (), T.INVALID_ENCODING, problem="invalid_utf8")
    return kb.check(line)


def run_check(args: argparse.Namespace) -> int:
    kb = load_or_explain()
    if kb is None:
        return 1
    if args.batch or not args.text:
        for line in _lines(sys.stdin.buffer):
            result = _answer(kb, line)
            if args.json:
                print(json.dumps(result.to_json(), ensure_ascii=False), flush=True)
            else:
                print(result.reply + "\n", flush=True)
        return 0
    result = kb.check(" ".join(args.text))
    print(json.dumps(result.to_json(), ensure_ascii=False, indent=2) if args.json else result.reply)
    return 0


def _console_lines() -> Iterator[str | None]:
    """What the user types at the prompt, or each piped line when stdin is not a terminal."""
    if not sys.stdin.isatty():
        yield from _lines(sys.stdin.buffer)
        return
    print(C.WELCOME)
    while True:
        try:
            yield input(C.PROMPT)
        except EOFError:
            print()
            return


def run_chat(args: argparse.Namespace) -> int:
    kb = load_or_explain()
    if kb is None:
        return 1
    for line in _console_lines():
        command = line.strip() if line is not None else ""
        if command in ("/quit", "/exit", "退出"):
            return 0
        if command in ("/start", "/help", "帮助"):
            print(C.WELCOME + "\n", flush=True)
            continue
        print(_answer(kb, line).reply + "\n", flush=True)
    return 0
