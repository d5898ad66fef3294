"""Loaded llama.cpp models, cached per kernel, each with the one lock it must be used under.

Three facts about llama-cpp-python decide the shape of this module:

* Loading is slow for real models and a notebook asks for the same model in every cell,
  so a loaded ``Llama`` is kept for the life of the kernel, keyed by the model's real
  path and its load options (a different ``n_ctx`` is a different context, so a
  different object).
* Two threads using one ``Llama`` at once abort the whole process (``GGML_ASSERT``), and
  the chat widget generates off the cell's thread. So every model carries a lock that
  the token loop holds for the whole generation.
* llama.cpp logs to the C-level stderr, which ipykernel copies into the running cell,
  and ``verbose=False`` makes llama-cpp-python redirect file descriptors 1 and 2
  process-wide (it has crashed under ipykernel, upstream #796). Instead we install a
  log callback that keeps the last lines in memory (to explain a failed load) and
  prints nothing, load with ``verbose=True`` while Python's ``sys.stderr`` is swapped
  for a buffer (that is where llama-cpp-python's own load chatter goes), and then turn
  ``verbose`` off on the object so generation prints nothing either.

``llama_cpp`` is imported lazily and typed as ``Any``: importing nbstream must not need
it, and its partial annotations would not pass ``mypy --strict`` anyway.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import inspect
import io
import os
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ..._exceptions import BackendUnavailable, ModelNotFound, UsageError

DEFAULT_N_CTX = 4096

# Load options nbstream sets itself, or that are Python objects rather than settings.
_NOT_LOAD_OPTIONS = frozenset(
    {"model_path", "verbose", "chat_format", "chat_handler", "draft_model", "tokenizer"}
)

CacheKey = tuple[str, tuple[tuple[str, str], ...]]


@dataclass(eq=False)
class LoadedModel:
    """A ``Llama`` object, the lock that guards it, and what it was loaded from."""

    llama: Any
    path: str
    options: dict[str, Any]
    chat_template: str | None
    bos_token: str
    eos_token: str
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def n_ctx(self) -> int:
        return int(self.llama.n_ctx())

    def spec(self) -> str:
        """The model as a spec path, with its load options as a query string."""
        query = "&".join(f"{key}={value}" for key, value in sorted(self.options.items()))
        return f"{self.path}?{query}" if query else self.path


_models: dict[CacheKey, LoadedModel] = {}
_loading = threading.Lock()
_recent_logs: deque[tuple[int, str]] = deque(maxlen=64)
_log_callback: Any = None  # keeps the ctypes callback alive for as long as llama.cpp may call it

_GGML_LOG_LEVEL_ERROR = 4  # ggml.h; llama_cpp/_logger.py's comment has the old numbering
_LOG_PREFIX = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*: ")


def llama_cpp_module() -> Any:
    """The ``llama_cpp`` package, or a one-sentence error saying how to install it."""
    try:
        module = importlib.import_module("llama_cpp")
    except ImportError as exc:
        raise BackendUnavailable(
            "The llama: backend needs llama-cpp-python, which is not installed; run "
            'pip install "nbstream[llama]" and restart the kernel.'
        ) from exc
    _silence_llama_logs(module)
    return module


def _silence_llama_logs(llama_cpp: Any) -> None:
    global _log_callback
    if _log_callback is not None:
        return

    def keep(level: int, text: bytes | None, user_data: object) -> None:
        # Runs inside llama.cpp's C code: do as little as possible and never raise.
        if text:
            _recent_logs.append((level, text.decode("utf-8", "replace")))

    _log_callback = llama_cpp.llama_log_callback(keep)
    llama_cpp.llama_log_set(_log_callback, None)


def first_error_log() -> str | None:
    """The first error llama.cpp logged since the last load began: usually the cause.

    Later lines only repeat that loading failed; the function-name prefix is dropped.
    """
    for level, text in _recent_logs:
        line = _LOG_PREFIX.sub("", text.strip()).rstrip(".")
        if level == _GGML_LOG_LEVEL_ERROR and line:
            return line
    return None


def resolve_path(model: str) -> str:
    return os.path.realpath(os.path.expanduser(model))


def load_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """The ``Llama()`` keyword arguments for a request: its options over nbstream's defaults."""
    chosen: dict[str, Any] = {"n_ctx": DEFAULT_N_CTX}
    if options:
        chosen.update(options)
    return chosen


def _check_options(llama_class: Any, options: dict[str, Any]) -> None:
    known = set(inspect.signature(llama_class.__init__).parameters) - _NOT_LOAD_OPTIONS
    known.discard("self")
    known.discard("kwargs")
    unknown = sorted(set(options) - known)
    if unknown:
        raise UsageError(
            f"Unknown llama.cpp load option {unknown[0]!r}; use options Llama() accepts, "
            "such as n_ctx, n_gpu_layers, n_threads or n_batch."
        )


def get_model(model: str, options: dict[str, Any] | None = None) -> LoadedModel:
    """The cached model for this path and these load options, loading it the first time."""
    path = resolve_path(model)
    chosen = load_options(options)
    key: CacheKey = (path, tuple(sorted((name, repr(value)) for name, value in chosen.items())))
    cached = _models.get(key)
    if cached is not None:
        return cached
    llama_cpp = llama_cpp_module()
    with _loading:
        cached = _models.get(key)
        if cached is None:
            cached = _models[key] = _load(llama_cpp, path, chosen)
        return cached


@atexit.register
def _close_all() -> None:
    # Free models while llama_cpp is still importable; at interpreter teardown
    # Llama.__del__ would print "Exception ignored ... 'NoneType' object is not callable".
    while _models:
        _, model = _models.popitem()
        # A daemon thread may still be generating: never free a model under it.
        if model.lock.acquire(timeout=1.0):
            with contextlib.suppress(Exception):
                model.llama.close()


def loaded_models() -> list[LoadedModel]:
    """The models loaded in this kernel so far."""
    return list(_models.values())


def _load(llama_cpp: Any, path: str, options: dict[str, Any]) -> LoadedModel:
    if not os.path.isfile(path):
        raise ModelNotFound(
            f"There is no model file at {path}; check the path after llama: "
            "(a .gguf file on this machine)."
        )
    _check_options(llama_cpp.Llama, options)
    _recent_logs.clear()
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            llama = llama_cpp.Llama(model_path=path, verbose=True, **options)
    except TypeError as exc:
        raise UsageError(
            f"A llama.cpp load option has a value of the wrong type ({exc}); "
            "check the ?name=value options in the spec."
        ) from exc
    except Exception as exc:  # llama-cpp-python raises ValueError or RuntimeError
        detail = first_error_log() or str(exc).rstrip(".")
        raise ModelNotFound(
            f"llama.cpp could not load {path} ({detail}); check that it is a complete "
            f"GGUF model that llama-cpp-python {llama_cpp.__version__} supports."
        ) from exc
    llama.verbose = False  # generation must print nothing into the cell
    metadata: dict[str, str] = dict(llama.metadata)
    return LoadedModel(
        llama=llama,
        path=path,
        options=options,
        chat_template=metadata.get("tokenizer.chat_template"),
        bos_token=_token_text(llama, llama.token_bos()),
        eos_token=_token_text(llama, llama.token_eos()),
    )


def _token_text(llama: Any, token: int) -> str:
    if token < 0:
        return ""
    return str(llama._model.token_get_text(token))
