"""``%%llm`` and ``%llm``: the notebook's way in.

The magic only reads what the user wrote — options, spec, prompt, conversation — and
hands it to :mod:`._request`, which resolves the model and lays the cell's options over
an alias's (the same way ``generate()`` and the chat do), then to ``show_live``; it owns
no streaming logic, only what a cell does with the outcome (``_llm``, ``-o``, the
conversation, then raising the error). Every user mistake is a ``UsageError`` with one
sentence; nothing here prints a traceback or returns a value (no duplicate ``Out[n]``).
"""

from __future__ import annotations

import json
import shlex
from collections import ChainMap
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class
from traitlets import Bool, Dict, Float, Int, Unicode

from . import _context, _images, _lineparse
from ._conversation import DEFAULT_NAME, Conversations
from ._exceptions import UsageError
from ._generate import show_live
from ._markdown import code_of, literal_block
from ._prompt import interpolate, size_estimate
from ._request import (
    IDENTIFIER,
    PARSER,
    VALUE_OPTIONS,
    Settings,
    alias_options,
    metadata_params,
    parse_options,
    resolve,
)
from ._response import Response
from ._secrets import mask, secret_values
from ._specs import DEFAULT_REGISTRY, parse_spec
from ._types import Image
from ._values import DEFAULT_MAX_VALUE_CHARS, MIN_VALUE_CHARS
from .backends import get_backend
from .recording import recorded_models

# The line forms, by subcommand ("" is a one-line prompt): %llm? lists them, the README
# lists the same (tests/test_magic_docs.py checks), and the subcommands are their words.
LINE_FORMS = {
    "": "%llm SPEC prompt…",
    "use": "%llm use SPEC",
    "alias": "%llm alias NAME SPEC [options]",
    "models": "%llm models [SPEC]",
    "history": "%llm history [NAME]",
    "reset": "%llm reset [NAME|--all]",
}
SUBCOMMANDS = tuple(word for word in LINE_FORMS if word)


def _help() -> str:
    """What ``%llm?`` shows: generated from the option parser and the line forms."""
    forms = "\n".join(f"  {form}" for form in LINE_FORMS.values())
    return (
        "%%llm streams an LLM's answer into the cell's output; %llm runs a one-liner or a"
        " setting.\n\n"
        f"{PARSER.format_help()}\n"
        f"Line forms:\n{forms}\n\n"
        "In the prompt, {name} is replaced by a notebook variable, {In[n]}, {Out[n]} and\n"
        "{Err[n]} by cell n's source, result and error ({Err.last}: the latest error);\n"
        "{{ and }} are braces.\n"
    )


@magics_class
class LLMMagics(Magics):
    """``%%llm [SPEC] [options]`` streams an answer; ``%llm`` has one-liners and settings.

    ``%llm?`` shows the options and line forms (:func:`_help`, from the option parser).
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
    max_value_chars = Int(
        DEFAULT_MAX_VALUE_CHARS,
        min=MIN_VALUE_CHARS,
        help="The most characters one {value} adds to a prompt; longer text is cut, marked.",
    ).tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self.registry = DEFAULT_REGISTRY
        # The Python API and the widget resolve names through the same registry, which
        # reads this instance's config (LLMMagics.model / .aliases) from now on.
        self.registry.config = self
        self.conversations = Conversations()

    @line_cell_magic
    def llm(self, line: str, cell: str | None = None) -> None:
        self._dispatch(line, cell)

    llm.__doc__ = _help()

    @line_cell_magic("nbstream")  # type: ignore[arg-type]
    def nbstream_magic(self, line: str, cell: str | None = None) -> None:
        """The same as ``%%llm``, for notebooks where another ``llm`` magic exists."""
        self._dispatch(line, cell)

    def _dispatch(self, line: str, cell: str | None) -> None:
        if cell is not None:
            self._run(line, cell)
            return
        first, rest = _lineparse.first_word(line)
        if first in SUBCOMMANDS:
            getattr(self, f"_cmd_{first}")(rest)
            return
        options, prompt = _lineparse.split_line(line, self.registry.all_aliases(), VALUE_OPTIONS)
        if not prompt.strip():
            raise UsageError("No prompt: write %llm SPEC your question, or use %%llm with a cell.")
        self._run(options, prompt)

    # -- generation ---------------------------------------------------------------

    def _settings(self, line: str) -> Settings:
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"The options cannot be parsed ({exc}); check the quotes.") from None
        given, model = parse_options(words, self.registry.all_aliases())
        return resolve(model or None, given, registry=self.registry)

    def _run(self, line: str, body: str) -> None:
        settings = self._settings(line)
        prompt = body.strip("\n")
        images: tuple[Image, ...] = ()
        if not settings.no_interpolate:
            # The notebook's In/Out/Err first, then the user's names.
            shell = self.shell
            namespace = ChainMap(_context.names(shell), shell.user_ns) if shell else {}
            filled = interpolate(prompt, namespace, max_value_chars=self.registry.max_value_chars())
            prompt, images = filled.text, filled.images
        if not prompt.strip():
            raise UsageError("The prompt is empty; write it in the cell below %%llm.")
        history = self.conversations.history(settings.chat) if settings.chat else []
        request = settings.request(prompt, history=history, images=images)
        if settings.dry_run:
            self._show_dry_run(request)
            return
        outcome = show_live(
            request,
            fmt=settings.format,
            params=metadata_params(request, chat=settings.chat),
            max_rate=self.max_updates_per_second,
            record=settings.record,
        )
        # The answer is kept however it ended (partial text included), then the cell fails.
        self._finish(settings, prompt, outcome.response)
        if outcome.error is not None:
            raise outcome.error

    def _finish(self, settings: Settings, prompt: str, response: Response) -> None:
        shell = self.shell
        assert shell is not None
        shell.user_ns["_llm"] = response
        if settings.out:
            shell.user_ns[settings.out] = response
        if settings.chat and response.text and response.status != "error":
            self.conversations.record(settings.chat, prompt, response.text)
        if settings.format == "code" and response.text:
            shell.set_next_input(code_of(response.text), replace=False)

    def _show_dry_run(self, request: Any) -> None:
        description = get_backend(request.backend).describe(request)
        messages = [_images.shown(m) for m in request.messages] if not request.raw else None
        shown = {"messages": messages} if messages is not None else {"prompt": request.prompt}
        text = (
            f"**Dry run** — nothing was sent to `{request.spec}`.\n\n"
            + literal_block(json.dumps(shown, indent=2, ensure_ascii=False), "json")
            + "\n\n"
            + literal_block(json.dumps(description, indent=2, ensure_ascii=False), "json")
            + f"\n\n{size_estimate(request)}"
        )
        _show_markdown(text)

    # -- line subcommands ---------------------------------------------------------

    def _cmd_use(self, rest: str) -> None:
        spec_text = rest.strip()
        if not spec_text:
            current = self.registry.current or self.model or "(not set)"
            _show_markdown(f"Default model: `{current}`")
            return
        settings = resolve(spec_text, registry=self.registry)  # refuse a bad one now
        self.registry.current = spec_text
        _show_markdown(f"Default model: `{settings.spec.spec}`")

    def _cmd_alias(self, rest: str) -> None:
        name, definition = _lineparse.first_word(rest)
        if not name:
            aliases = self.registry.all_aliases()
            lines = [f"- `{k}` → `{v}`" for k, v in sorted(aliases.items())]
            _show_markdown("\n".join(lines) or "*No aliases.*")
            return
        if not IDENTIFIER.match(name.replace("-", "_")) or not definition.strip():
            raise UsageError(
                "Write %llm alias NAME SPEC [options], e.g. %llm alias fast ollama:llama3.2 -t 0."
            )
        aliases = {**self.registry.all_aliases(), name: definition.strip()}
        try:
            words = shlex.split(definition)
        except ValueError as exc:
            raise UsageError(f"The alias cannot be parsed ({exc}); check the quotes.") from None
        alias_options(words[1:], aliases)  # reject bad options now, not at first use
        parse_spec(name, aliases)
        self.registry.aliases[name] = definition.strip()

    def _cmd_models(self, rest: str) -> None:
        settings = self._settings(rest)
        request = settings.request("")
        backend = settings.spec.backend
        names = recorded_models(request)  # replaying: from the recordings, no network
        if names is None:
            names = get_backend(backend).models(request)
        names = mask(names, secret_values(request))
        listing = "\n".join(f"- `{backend}:{n}`" for n in names)
        _show_markdown(listing or f"*The {backend} backend reports no models.*")

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
