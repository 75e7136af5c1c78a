"""The `cadrebot` command: each feature module adds its own sub-commands."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# Each module has `register(subparsers)` and sets `func` on its parsers.
COMMAND_MODULES = (
    "bot.cli_check",
    "bot.cli_kb",
    "bot.cli_db",
    "bot.cli_admin",
    "bot.cli_run",
    "bot.cli_digest",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cadrebot", description="政社互动助手 cadrebot")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:  # a missing module is an error, not a command silently left out
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early: not an error for the user
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
