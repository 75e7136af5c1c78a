"""argparse in Chinese for the `cadrebot` command: the usage line, section titles, -h/--help and every error
message argparse writes, translated in this parser class (not by patching gettext for the whole process)."""

from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from typing import NoReturn

from texts import console as C

# argparse's own English messages (Python 3.11 to 3.13) -> the Chinese template in texts/console.py.
_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.DOTALL), template)
    for pattern, template in (
        (r"the following arguments are required: (?P<args>.+)", C.ARG_REQUIRED),
        (r"one of the arguments (?P<args>.+) is required", C.ARG_ONE_REQUIRED),
        (r"unrecognized arguments: (?P<args>.+)", C.ARG_UNRECOGNIZED),
        (r"invalid choice: (?P<value>.+) \(choose from (?P<choices>.+)\)", C.ARG_INVALID_CHOICE),
        (r"unknown parser (?P<value>.+) \(choices: (?P<choices>.+)\)", C.ARG_INVALID_CHOICE),
        (r"invalid (?P<type>\S+) value: (?P<value>.+)", C.ARG_INVALID_VALUE),
        (r"expected one argument", C.ARG_EXPECTED_ONE),
        (r"expected at most one argument", C.ARG_EXPECTED_AT_MOST_ONE),
        (r"expected at least one argument", C.ARG_EXPECTED_AT_LEAST_ONE),
        (r"expected (?P<n>\d+) arguments?", C.ARG_EXPECTED_N),
        (r"not allowed with argument (?P<other>.+)", C.ARG_NOT_ALLOWED_WITH),
        (r"ignored explicit argument (?P<value>.+)", C.ARG_IGNORED_VALUE),
        (r"ambiguous option: (?P<option>\S+) could match (?P<matches>.+)", C.ARG_AMBIGUOUS),
        (r"unexpected option string: (?P<option>.+)", C.ARG_UNEXPECTED_OPTION),
    )
)
_ABOUT_ARGUMENT = re.compile(r"argument (?P<name>\S+?): (?P<message>.+)", re.DOTALL)


def translate_message(message: str) -> str:
    """argparse's English error message in Chinese; a message it does not know (ours, already Chinese) as is."""
    about = _ABOUT_ARGUMENT.fullmatch(message)
    if about:
        return C.ARG_ABOUT.format(name=about["name"], message=translate_message(about["message"]))
    for pattern, template in _MESSAGES:
        match = pattern.fullmatch(message)
        if match:
            fields = match.groupdict()
            if "type" in fields:
                fields["type"] = C.ARG_TYPE_NAMES.get(fields["type"], C.ARG_TYPE_OTHER)
            return template.format(**fields)
    return message


_TOKENS = re.compile(r"[!-~]+| |.")
_SPACES = re.compile(r"\s+")


def _columns(text: str) -> int:
    """How many terminal columns `text` takes: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


class ChineseHelpFormatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None) -> None:
        # prefix is "" when argparse builds a sub-command's prog from this usage line: keep that as it is.
        super().add_usage(usage, actions, groups, C.ARG_USAGE if prefix is None else prefix)

    def _format_usage(self, usage, actions, groups, prefix) -> str:
        # argparse indents a wrapped usage line by len(prefix); 用法： is 3 characters but 6 columns wide.
        text = super()._format_usage(usage, actions, groups, prefix)
        extra = " " * (_columns(prefix or "") - len(prefix or ""))
        first, *rest = text.split("\n")
        return "\n".join([first, *(extra + line if line.strip() else line for line in rest)])

    def _split_lines(self, text: str, width: int) -> list[str]:
        # argparse wraps help at `width` characters, twice the width of a terminal for Chinese: wrap by columns,
        # breaking between Chinese characters and never inside a run of ASCII (an option, a path, a number).
        lines, line = [], ""
        for token in _TOKENS.findall(_SPACES.sub(" ", text).strip()):
            if line.strip() and _columns(line + token) > width:
                lines.append(line.rstrip())
                line = token.lstrip()
            else:
                line += token
        return [*lines, line.rstrip()] if line.strip() else lines

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(indent + line for line in self._split_lines(text, width - len(indent)))


class ChineseArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose help and errors are in Chinese; add_subparsers makes its sub-parsers the same."""

    def __init__(self, *args, add_help: bool = True, formatter_class=ChineseHelpFormatter, **kwargs) -> None:
        super().__init__(*args, add_help=False, formatter_class=formatter_class, **kwargs)
        self._positionals.title = C.ARG_POSITIONALS
        self._optionals.title = C.ARG_OPTIONS
        if add_help:
            prefix = self.prefix_chars[0]
            self.add_argument(prefix + "h", prefix * 2 + "help", action="help", default=argparse.SUPPRESS,
                              help=C.ARG_HELP)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, C.ARG_ERROR.format(prog=self.prog, message=translate_message(message)) + "\n")
