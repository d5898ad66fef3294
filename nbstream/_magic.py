"""``%%llm`` and ``%llm``: the notebook's way in.

The magic only translates what the user wrote — options, spec, prompt, conversation —
into a :class:`~nbstream._types.Request` and hands it to ``run_live``; it owns no
streaming logic. Options come from three places, later ones winning: an alias's
option words, then the cell's own. Every user mistake is a ``UsageError`` with one
sentence; nothing here prints a traceback or returns a value (no duplicate ``Out[n]``).
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
from typing import Any, NoReturn

from IPython.core.magic import Magics, line_cell_magic, magics_class
from traitlets import Bool, Dict, Float, Unicode

from . import _lineparse
from ._bundle import literal_block
from ._conversation import DEFAULT_NAME, Conversations
from ._exceptions import NbstreamError, UsageError
from ._generate import FORMATS, build_request, run_live
from ._prompt import interpolate
from ._registry import DEFAULT_REGISTRY, ModelSpec, looks_like_spec, parse_spec
from ._secrets import mask, secret_values
from .backends import get_backend
from .backends.replay import recorded_models

SUBCOMMANDS = ("use", "alias", "models", "history", "reset")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message[:1].upper()}{message[1:]}; see %llm? for the options.")


def _parser() -> _Parser:
    p = _Parser(prog="%%llm", add_help=False, exit_on_error=False)
    p.add_argument("spec", nargs="?")
    p.add_argument("-m", "--model")
    p.add_argument("-s", "--system")
    p.add_argument("-t", "--temperature", type=float)
    p.add_argument("-n", "--max-tokens", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--stop", action="append", default=[])
    p.add_argument("-o", "--out")
    p.add_argument("-c", "--chat", nargs="?", const=DEFAULT_NAME)
    p.add_argument("--raw", action="store_true")
    p.add_argument("--format", choices=FORMATS)
    p.add_argument("--no-interpolate", action="store_true")
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--record")
    p.add_argument("--base-url")
    p.add_argument("--api-key-env")
    p.add_argument("--timeout", type=float)
    return p


PARSER = _parser()
# Options that take a value, for reading the line form ``%llm -t 0 SPEC prompt…``; -c's
# NAME is optional, and in the line form -c takes none (``--chat=NAME`` names one).
VALUE_OPTIONS = frozenset(
    option
    for action in PARSER._actions
    if action.option_strings and action.nargs is None
    for option in action.option_strings
)


def parse_options(words: list[str], aliases: dict[str, str]) -> tuple[argparse.Namespace, str]:
    """Parse option words; return the namespace and the spec they name (or "")."""
    try:
        args = PARSER.parse_args(words)
    except argparse.ArgumentError as exc:
        # Bad values (-t hot) arrive here rather than through error() with exit_on_error off.
        PARSER.error(str(exc))
    if args.chat and args.spec is None and looks_like_spec(args.chat, aliases):
        # "%%llm -c ollama:x": -c took the spec as its NAME.
        args.spec, args.chat = args.chat, DEFAULT_NAME
    if args.spec and args.model and args.spec != args.model:
        raise UsageError(f"Two models given ({args.spec!r} and -m {args.model!r}); keep one.")
    if args.out is not None and not _IDENTIFIER.match(args.out):
        raise UsageError(f"-o needs a Python variable name, not {args.out!r}.")
    return args, args.spec or args.model or ""


@magics_class
class LLMMagics(Magics):
    """``%%llm [SPEC] [options]`` streams an answer; ``%llm`` has one-liners and settings.

    Options: -m/--model SPEC, -s/--system TEXT, -t/--temperature F, -n/--max-tokens N,
    --seed N, --stop S (repeatable), -o/--out NAME, -c/--chat [NAME], --raw,
    --format markdown|text|code, --no-interpolate, --dry-run, --record PATH,
    --base-url URL, --api-key-env NAME, --timeout S.

    Line forms: ``%llm SPEC prompt…``, ``%llm use SPEC``, ``%llm alias NAME SPEC [options]``,
    ``%llm models``, ``%llm history [NAME]``, ``%llm reset [NAME]``.
    In the prompt, ``{name}`` is replaced by a notebook variable; ``{{``/``}}`` are braces.
    """

    model = Unicode("", help="Default model spec when a cell names none.").tag(config=True)
    aliases = Dict(
        value_trait=Unicode(), help="NAME → 'SPEC [options]' shortcuts, like %llm alias."
    ).tag(config=True)
    max_updates_per_second = Float(20.0, help="Live output updates per second at most.").tag(
        config=True
    )
    stream_options = Bool(
        True,
        help="openai: send stream_options (it asks for token counts); False for "
        "gateways that refuse it with HTTP 400.",
    ).tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self.registry = DEFAULT_REGISTRY
        self.conversations = Conversations()

    @line_cell_magic
    def llm(self, line: str, cell: str | None = None) -> None:
        self._dispatch(line, cell)

    llm.__doc__ = __doc__

    @line_cell_magic("nbstream")  # type: ignore[arg-type]
    def nbstream_magic(self, line: str, cell: str | None = None) -> None:
        """The same as ``%%llm``, for notebooks where another ``llm`` magic exists."""
        self._dispatch(line, cell)

    def _all_aliases(self) -> dict[str, str]:
        return self.registry.all_aliases(dict(self.aliases))

    def _dispatch(self, line: str, cell: str | None) -> None:
        if cell is not None:
            self._run(line, cell)
            return
        first, rest = _lineparse.first_word(line)
        if first in SUBCOMMANDS:
            getattr(self, f"_cmd_{first}")(rest)
            return
        options, prompt = _lineparse.split_line(line, self._all_aliases(), VALUE_OPTIONS)
        if not prompt.strip():
            raise UsageError("No prompt: write %llm SPEC your question, or use %%llm with a cell.")
        self._run(options, prompt)

    # -- generation ---------------------------------------------------------------

    def _resolve(self, line: str) -> tuple[argparse.Namespace, ModelSpec]:
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"The options cannot be parsed ({exc}); check the quotes.") from None
        aliases = self._all_aliases()
        args, spec_text = parse_options(words, aliases)
        spec = self.registry.resolve(
            spec_text or None, configured=self.model, config_aliases=aliases
        )
        if spec.args:
            # Alias options first, so the cell's own options override them.
            args, _ = parse_options([*spec.args, *words], aliases)
        return args, spec

    def _run(self, line: str, body: str) -> None:
        args, spec = self._resolve(line)
        namespace = self.shell.user_ns if self.shell is not None else {}
        prompt = body.strip("\n")
        if not args.no_interpolate:
            prompt = interpolate(prompt, namespace)
        if not prompt.strip():
            raise UsageError("The prompt is empty; write it in the cell below %%llm.")
        history = self.conversations.history(args.chat) if args.chat else []
        request = build_request(
            spec,
            prompt,
            system=args.system,
            history=history,
            raw=args.raw,
            temperature=args.temperature,
            max_tokens=args.max_tokens,
            seed=args.seed,
            stop=args.stop,
            base_url=args.base_url,
            api_key_env=args.api_key_env,
            timeout=args.timeout,
            options=(
                {"stream_options": False}
                if spec.backend == "openai" and not self.stream_options
                else None
            ),
        )
        if args.dry_run:
            self._show_dry_run(request)
            return
        fmt = args.format or "markdown"
        params = {
            key: value
            for key, value in (
                ("temperature", args.temperature),
                ("max_tokens", args.max_tokens),
                ("seed", args.seed),
                ("stop", args.stop or None),
                ("raw", args.raw or None),
                ("chat", args.chat),
            )
            if value is not None
        }
        try:
            response = run_live(
                request,
                fmt=fmt,
                params=params,
                max_rate=self.max_updates_per_second,
                record=args.record,
            )
        except (NbstreamError, KeyboardInterrupt) as exc:
            partial = getattr(exc, "response", None)
            if partial is not None:
                self._finish(args, prompt, partial, fmt)
            raise
        self._finish(args, prompt, response, fmt)

    def _finish(self, args: argparse.Namespace, prompt: str, response: Any, fmt: str) -> None:
        shell = self.shell
        assert shell is not None
        if args.out:
            shell.user_ns[args.out] = response
        if args.chat and response.text and response.status != "error":
            self.conversations.record(args.chat, prompt, response.text)
        if fmt == "code" and response.text:
            shell.set_next_input(_code_of(response.text), replace=False)

    def _show_dry_run(self, request: Any) -> None:
        description = get_backend(request.backend).describe(request)
        messages = [m.as_dict() for m in request.messages] if not request.raw else None
        shown = {"messages": messages} if messages is not None else {"prompt": request.prompt}
        text = (
            f"**Dry run** — nothing was sent to `{request.spec}`.\n\n"
            + literal_block(json.dumps(shown, indent=2, ensure_ascii=False), "json")
            + "\n\n"
            + literal_block(json.dumps(description, indent=2, ensure_ascii=False), "json")
        )
        _show_markdown(text)

    # -- line subcommands ---------------------------------------------------------

    def _cmd_use(self, rest: str) -> None:
        spec_text = rest.strip()
        if not spec_text:
            current = self.registry.current or self.model or "(not set)"
            _show_markdown(f"Default model: `{current}`")
            return
        spec = self.registry.resolve(spec_text, config_aliases=self._all_aliases())
        self.registry.current = spec_text
        _show_markdown(f"Default model: `{spec.spec}`")

    def _cmd_alias(self, rest: str) -> None:
        name, definition = _lineparse.first_word(rest)
        if not name:
            aliases = self._all_aliases()
            lines = [f"- `{k}` → `{v}`" for k, v in sorted(aliases.items())]
            _show_markdown("\n".join(lines) or "*No aliases.*")
            return
        if not _IDENTIFIER.match(name.replace("-", "_")) or not definition.strip():
            raise UsageError(
                "Write %llm alias NAME SPEC [options], e.g. %llm alias fast ollama:llama3.2 -t 0."
            )
        aliases = {**self._all_aliases(), name: definition.strip()}
        try:
            words = shlex.split(definition)
        except ValueError as exc:
            raise UsageError(f"The alias cannot be parsed ({exc}); check the quotes.") from None
        parse_options(words[1:], aliases)  # reject bad options now, not at first use
        parse_spec(name, aliases)
        self.registry.aliases[name] = definition.strip()

    def _cmd_models(self, rest: str) -> None:
        args, spec = self._resolve(rest)
        request = build_request(
            spec, "", base_url=args.base_url, api_key_env=args.api_key_env, timeout=args.timeout
        )
        names = recorded_models(request)  # replaying: from the recordings, no network
        if names is None:
            names = get_backend(spec.backend).models(request)
        names = mask(names, secret_values(request))
        listing = "\n".join(f"- `{spec.backend}:{n}`" for n in names)
        _show_markdown(listing or f"*The {spec.backend} backend reports no models.*")

    def _cmd_history(self, rest: str) -> None:
        _show_markdown(self.conversations.transcript(rest.strip() or DEFAULT_NAME))

    def _cmd_reset(self, rest: str) -> None:
        name = rest.strip()
        if name == "--all":
            self.conversations.reset()
        else:
            self.conversations.reset(name or DEFAULT_NAME)


def _show_markdown(text: str) -> None:
    from IPython.display import Markdown, display

    display(Markdown(text))  # type: ignore[no-untyped-call]


_CODE_BLOCK = re.compile(r"^ {0,3}(`{3,}|~{3,})[^\n]*\n(.*?)^ {0,3}\1[ \t]*$", re.M | re.S)


def _code_of(text: str) -> str:
    """The code in an answer: its fenced blocks joined, or the whole text if it has none."""
    blocks = [m.group(2).rstrip("\n") for m in _CODE_BLOCK.finditer(text)]
    if blocks:
        return "\n\n".join(blocks)
    return text.strip()
