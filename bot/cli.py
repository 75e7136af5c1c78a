"""The `cadrebot` command: each feature module adds its own sub-commands."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from bot.cli_parser import ChineseArgumentParser
from bot.settings import Settings, SettingsError
from texts import console as C

EXIT_BAD_SETTINGS = 2

# Each module has `register(subparsers)` and sets `func` on its parsers.
COMMAND_MODULES = (
    "bot.cli_check",
    "bot.cli_kb",
    "bot.cli_db",
    "bot.cli_admin",
    "bot.cli_run",
    "bot.cli_digest",
    "bot.cli_evaluation",
)


def build_parser() -> argparse.ArgumentParser:
    parser = ChineseArgumentParser(prog="cadrebot", description=C.CLI_DESCRIPTION)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title=C.ARG_COMMANDS)
    for name in COMMAND_MODULES:  # a missing module is an error, not a command silently left out
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:  # once, before any command runs: every command gets these settings as args.settings
        args.settings = Settings()
    except SettingsError as error:  # one line per wrong value and no traceback: the deployer fixes the variable
        print(error, file=sys.stderr)
        return EXIT_BAD_SETTINGS
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early: not an error for the user
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
