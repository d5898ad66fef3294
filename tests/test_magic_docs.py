"""The magic's options and line forms are described once, and the README says the same.

The option parser (:data:`nbstream._request.PARSER`) holds each option's help text and
metavar; ``%llm?`` is generated from it and from :data:`nbstream._magic.LINE_FORMS`.
The README's option table and its list of line forms are written by hand, so they are
checked here against those two, both ways: every option and form is documented, and
everything documented exists (with the same metavar).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nbstream._magic import LINE_FORMS, SUBCOMMANDS, LLMMagics
from nbstream._request import PARSER

README = Path(__file__).resolve().parent.parent / "README.md"


def _cell_magic_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("### The cell magic")
    end = text.index("\n#", start + 1)
    return text[start:end]


def _readme_option_forms() -> set[str]:
    """The backticked entries of the first column of the ``| option | meaning |`` table."""
    lines = _cell_magic_section().splitlines()
    header = lines.index("| option | meaning |")
    forms: set[str] = set()
    for line in lines[header + 2 :]:
        if not line.startswith("|"):
            break
        first = re.split(r"(?<!\\)\|", line)[1]
        forms.update(code.replace("\\|", "|") for code in re.findall(r"`([^`]+)`", first))
    return forms


def _parser_option_forms() -> set[str]:
    """Each option as the README writes it: ``-m/--model SPEC``, ``-c/--chat [NAME]``."""
    forms = set()
    for action in PARSER._actions:
        if not action.option_strings:
            continue
        form = "/".join(action.option_strings)
        if action.nargs == "?":
            form += f" [{action.metavar}]"
        elif action.nargs is None:
            form += f" {action.metavar}"
        forms.add(form)
    return forms


def test_every_option_is_in_the_readme_table_and_every_documented_option_exists() -> None:
    documented, actual = _readme_option_forms(), _parser_option_forms()
    assert sorted(actual - documented) == [], "options missing from the README table"
    assert sorted(documented - actual) == [], "README table entries that are not options"


def test_every_option_has_help_and_a_metavar_when_it_takes_a_value() -> None:
    for action in PARSER._actions:
        assert action.help, action.dest
        if action.nargs != 0:
            assert action.metavar, action.dest


def test_the_magic_help_is_generated_from_the_parser_and_the_line_forms() -> None:
    doc = LLMMagics.llm.__doc__
    assert doc is not None
    assert PARSER.format_help() in doc
    for action in PARSER._actions:
        assert isinstance(action.help, str) and action.help.split()[0] in doc
    for form in LINE_FORMS.values():
        assert f"  {form}\n" in doc


def test_the_readme_lists_the_same_line_forms() -> None:
    section = _cell_magic_section()
    paragraph = section[section.index("Line forms:") :].split("\n\n")[0]
    documented = {code for code in re.findall(r"`([^`]+)`", paragraph) if code.startswith("%llm")}
    assert documented == set(LINE_FORMS.values())
    assert "%llm reset [NAME|--all]" in documented


def test_every_subcommand_has_a_line_form_and_a_handler() -> None:
    assert set(SUBCOMMANDS) == {form.split()[1] for form in LINE_FORMS.values()} - {"SPEC"}
    for word in SUBCOMMANDS:
        assert callable(getattr(LLMMagics, f"_cmd_{word}", None)), word


def test_help_does_not_depend_on_the_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    wide = PARSER.format_help()
    monkeypatch.setenv("COLUMNS", "40")
    assert PARSER.format_help() == wide
