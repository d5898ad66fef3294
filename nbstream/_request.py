"""From what the user wrote to a :class:`Request`: the one place requests are built.

A model is named in many places — a ``%%llm`` cell, ``%llm use``, ``generate()``,
``stream()``, ``chat()``, ``chat.model`` and the widget's model switcher — and settings
arrive in three shapes: option words (a cell's, an alias's), Python keyword arguments,
and the chat widget's ``system`` and ``options``. Built in each place separately they
drifted apart: an alias's ``--base-url`` was honoured in a cell and dropped by
``generate()``, which sent the prompt, and the key, to a host the user never chose. So
every entry point takes the same three steps, all of them here:

1. :func:`parse_options` (option words) or :func:`split_keywords` (keyword arguments)
   give the settings the user *gave*, keyed by the option parser's own names
   (``max_tokens``, ``base_url``…). :data:`PARSER` is the one list of options, for
   cells and aliases alike, so an alias's ``-t 0 --base-url X -s "…"`` means the same
   in a cell and in Python; the Python keywords are derived from it.
2. :func:`resolve` names the model — a spec, an alias, or the default (``%llm use``,
   ``LLMMagics.model``, ``$NBSTREAM_MODEL``, the demo model), all through the one
   :class:`~nbstream._specs.Registry` — and lays the given settings over the alias's
   option words: whatever is given explicitly wins, option by option.
3. :meth:`Settings.request` builds the :class:`Request` a backend receives, and
   :func:`metadata_params` derives from it what the output's metadata records.
"""

from __future__ import annotations

import argparse
import itertools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from ._bundle import FORMATS
from ._conversation import DEFAULT_NAME
from ._exceptions import UsageError
from ._specs import (
    DEFAULT_REGISTRY,
    ModelSpec,
    Registry,
    find_function,
    function_name,
    looks_like_spec,
)
from ._types import Endpoint, Image, Message, Request
from .backends.python import FUNCTION, SOURCE

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message[:1].upper()}{message[1:]}; see %llm? for the options.")


def _parser() -> _Parser:
    # SUPPRESS: an option that was not written is absent from the result, so "not given"
    # can be told from a value, and given options can be laid over an alias's.
    # The help texts are the options' one description: %llm? shows them (the magic's
    # docstring is this parser's help), and tests/test_magic_docs.py checks the README's
    # option table against these options and metavars.
    p = _Parser(
        prog="%%llm",
        usage="%%%%llm [SPEC] [options]",  # argparse formats it with %
        add_help=False,
        exit_on_error=False,
        argument_default=argparse.SUPPRESS,
        formatter_class=_Formatter,
    )
    p.add_argument("spec", nargs="?", metavar="SPEC", help="the model: backend:model or an alias")
    p.add_argument("-m", "--model", metavar="SPEC", help="same as the positional SPEC")
    p.add_argument("-s", "--system", metavar="TEXT", help="system prompt")
    p.add_argument("-t", "--temperature", type=float, metavar="F", help="sampling temperature")
    p.add_argument("-n", "--max-tokens", type=int, metavar="N", help="at most N new tokens")
    p.add_argument("--seed", type=int, metavar="N", help="sampling seed")
    p.add_argument("--stop", action="append", metavar="S", help="stop string (repeatable)")
    p.add_argument(
        "-o", "--out", metavar="NAME", help="store the Response in NAME (it is always in _llm)"
    )
    p.add_argument(
        "-c",
        "--chat",
        nargs="?",
        const=DEFAULT_NAME,
        metavar="NAME",
        help="continue a conversation (default or named); write the model before -c",
    )
    p.add_argument(
        "--raw", action="store_true", help="plain completion of the prompt, no chat template"
    )
    p.add_argument(
        "--format",
        choices=FORMATS,
        metavar="|".join(FORMATS),
        help="how the answer is shown; code also offers it as a new cell below",
    )
    p.add_argument("--no-interpolate", action="store_true", help="send the body exactly as written")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="show the final messages and the request (key as ***), send nothing",
    )
    p.add_argument("--record", metavar="PATH", help="also append this exchange to a recording")
    p.add_argument("--base-url", metavar="URL", help="the server's address (HTTP backends)")
    p.add_argument(
        "--api-key-env", metavar="NAME", help="the environment variable holding the API key"
    )
    p.add_argument(
        "--timeout", type=float, metavar="S", help="longest silence allowed from the server"
    )
    return p


class _Formatter(argparse.HelpFormatter):
    """The same help text whatever the terminal: it is also the magic's docstring."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=88, max_help_position=28)


PARSER = _parser()
# Options that take a value, for reading the line form ``%llm -t 0 SPEC prompt…``; -c's
# NAME is optional, and in the line form -c takes none (``--chat=NAME`` names one).
VALUE_OPTIONS = frozenset(
    option
    for action in PARSER._actions
    if action.option_strings and action.nargs is None
    for option in action.option_strings
)
# What only a cell can use: the model itself, and what happens around the answer there.
CELL_ONLY = frozenset({"spec", "model", "out", "chat", "no_interpolate", "dry_run"})
# The keyword arguments of generate(), stream() and chat() that are settings (the option
# names, e.g. max_tokens for -n/--max-tokens); any other keyword is a backend option.
KEYWORDS = tuple(action.dest for action in PARSER._actions if action.dest not in CELL_ONLY)


@dataclass(frozen=True)
class Settings:
    """Everything the user asked for, once the model is resolved: one per generation."""

    spec: ModelSpec
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()
    raw: bool = False
    format: str = "markdown"
    record: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    timeout: float | None = None
    out: str | None = None
    chat: str | None = None
    no_interpolate: bool = False
    dry_run: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)
    function: Callable[..., Any] | None = None  # a callable passed as the model itself

    def request(
        self,
        prompt: str,
        *,
        history: Iterable[Message | Mapping[str, str]] = (),
        images: Sequence[Image] = (),
    ) -> Request:
        """The one value a backend receives for ``prompt`` and its ``images`` after ``history``."""
        messages: list[Message] = []
        if self.system:
            messages.append(Message("system", self.system))
        messages.extend(
            m if isinstance(m, Message) else Message(m["role"], m["content"])  # type: ignore[arg-type]
            for m in history
        )
        messages.append(Message("user", prompt, tuple(images)))
        extra = dict(self.options)
        if self.spec.backend == "py":
            extra[FUNCTION] = self.function or _lookup(self.spec.model)
        if self.spec.load:
            extra["load"] = {**self.spec.load, **extra.get("load", {})}
        return Request(
            backend=self.spec.backend,
            model=self.spec.model,
            messages=tuple(messages),
            prompt=prompt,
            raw=self.raw,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            seed=self.seed,
            stop=self.stop,
            endpoint=Endpoint(
                base_url=self.base_url, api_key_env=self.api_key_env, timeout=self.timeout
            ),
            options=extra,
        )


def _lookup(name: str) -> Any:
    """``py:NAME``'s function, looked up now, at each request, so a redefined one applies.

    A name that is unbound (or not callable) gives the :class:`UsageError` instead, which
    the ``py`` backend raises when it is asked to call it: a replayed request never is, so
    a notebook replays even where the function's cell cannot run.
    """
    try:
        return find_function(name)
    except UsageError as exc:
        return exc


def parse_options(words: Sequence[str], aliases: Mapping[str, str]) -> tuple[dict[str, Any], str]:
    """The options ``words`` give (only those written) and the model they name (or "")."""
    try:
        given = vars(PARSER.parse_args(list(words)))
    except argparse.ArgumentError as exc:
        # Bad values (-t hot) arrive here rather than through error() with exit_on_error off.
        PARSER.error(str(exc))
    chat = given.get("chat")
    if chat and "spec" not in given and looks_like_spec(chat, aliases):
        # "%%llm -c ollama:x": -c took the spec as its NAME.
        given["spec"], given["chat"] = chat, DEFAULT_NAME
    spec, model = given.pop("spec", None), given.pop("model", None)
    if spec and model and spec != model:
        raise UsageError(f"Two models given ({spec!r} and -m {model!r}); keep one.")
    out = given.get("out")
    if out is not None and not IDENTIFIER.match(out):
        raise UsageError(f"-o needs a Python variable name, not {out!r}.")
    return given, spec or model or ""


def alias_options(words: Sequence[str], aliases: Mapping[str, str]) -> dict[str, Any]:
    """The options an alias's words give; its model is its first word, never an option."""
    given, model = parse_options(words, aliases)
    if model:
        raise UsageError(
            f"An alias names one model, first: {model!r} is a second one; "
            "write %llm alias NAME SPEC [options]."
        )
    return given


def split_keywords(keywords: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(given settings, backend options)`` from Python keyword arguments.

    ``None`` means "not given", so it leaves an alias's option in place.
    """
    given = {k: v for k, v in keywords.items() if k in KEYWORDS and v is not None}
    backend_options = {k: v for k, v in keywords.items() if k not in KEYWORDS}
    return given, backend_options


Model = str | Callable[..., Any] | None
"""A model as the Python API takes it: a spec, an alias, a function, or None (the default)."""


def resolve(
    model: Model,
    given: Mapping[str, Any] | None = None,
    *,
    options: Mapping[str, Any] | None = None,
    registry: Registry = DEFAULT_REGISTRY,
) -> Settings:
    """The settings for a generation with ``model`` (None: the default model).

    An alias's option words come first and ``given`` overrides them option by option, the
    way a cell's options override its alias's; ``options`` are backend options. A
    callable is the ``py`` backend's model, named ``py:<its __name__>``.
    """
    function = None
    if callable(model):
        function, spec = model, ModelSpec("py", function_name(model))
    elif model is not None and not isinstance(model, str):
        raise UsageError(
            f'model must be a spec ("ollama:llama3.2"), an alias or a function, '
            f"not a {type(model).__name__}."
        )
    else:
        spec = registry.resolve(model)
    chosen = {**alias_options(spec.args, registry.all_aliases()), **(given or {})}
    if "stop" in chosen:
        stop = chosen["stop"]
        chosen["stop"] = (stop,) if isinstance(stop, str) else tuple(stop)
    if chosen.get("format", "markdown") not in FORMATS:
        raise UsageError(f"Unknown format {chosen['format']!r}; use one of {', '.join(FORMATS)}.")
    backend_options = dict(options or {})
    if spec.backend == "openai" and not registry.stream_options():
        # %config LLMMagics.stream_options = False: for gateways that refuse it.
        backend_options.setdefault("stream_options", False)
    return Settings(spec=spec, options=backend_options, function=function, **chosen)


_shown: defaultdict[str, Iterator[int]] = defaultdict(lambda: itertools.count(1))
"""How many ``show()`` calls each name has had in this kernel: their replay key."""


def show_request(source: object, model: str | None = None) -> Request:
    """The request ``show(source, model=…)`` stands for: the ``py`` backend reading ``source``.

    It has no messages, so what tells one ``show()`` from another in a recording is its
    ``model`` name (default ``stream``) and its place in the run: ``options["show"]`` is
    1 for the first ``show()`` under that name in this kernel, 2 for the next, and so
    on. A notebook run from the top replays the same calls in the same order.
    """
    if source is None:
        raise UsageError(
            "show() was given None, not a stream; pass the iterable itself, e.g. "
            "show(client.chat.completions.create(..., stream=True))."
        )
    if not isinstance(source, str) and not (
        hasattr(source, "__iter__") or hasattr(source, "__aiter__") or hasattr(source, "__await__")
    ):
        raise UsageError(
            f"show() needs a stream (an iterable or async iterable of chunks), not a "
            f"{type(source).__name__}."
        )
    if isinstance(source, (bytes, bytearray, memoryview)):
        raise UsageError("show() was given bytes, not a stream; decode them or pass the stream.")
    name = model or "stream"
    if not isinstance(name, str) or not name.strip():
        raise UsageError("show()'s model names what the status line shows: a non-empty str.")
    return Request(
        backend="py",
        model=name,
        options={SOURCE: source, "show": next(_shown[name])},
    )


def metadata_params(request: Request, chat: str | None = None) -> dict[str, Any]:
    """What the output's metadata records of a request: sampling, ``--raw``, the conversation.

    Derived from the request itself, so it shows what was sent whichever way it was
    asked for. The endpoint is left out: it says where, not what, and a URL can carry
    credentials into a saved notebook.
    """
    params = {
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
        "seed": request.seed,
        "stop": list(request.stop) or None,
        "raw": request.raw or None,
        "chat": chat,
    }
    return {key: value for key, value in params.items() if value is not None}
