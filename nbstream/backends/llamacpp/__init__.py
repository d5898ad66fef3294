"""The ``llama:`` backend: a GGUF model run inside the kernel by llama-cpp-python.

``stream()`` is one generator, like every backend's, and the order of its steps is the
point: find (or load) the cached model, build the prompt (chat template or a plain
completion, see :mod:`._prompt`), then take the model's lock and run nbstream's
own token loop (:mod:`._loop`) while holding it. The lock is released in
``finally``, so a finished answer, an error, ``close()`` on the generator and a
``KeyboardInterrupt`` from a kernel interrupt all leave the model usable by the next
cell or the chat widget's thread. Waiting for the lock watches ``Cancel``, so Stop works
even while another thread is still generating with the same model.

Request options this backend reads (others are ignored):

``load``
    ``Llama()`` keyword arguments (``n_ctx``, ``n_gpu_layers``, ``n_threads``…), parsed
    from the spec's ``?name=value`` query; part of the model cache key.
``sampling``
    extra ``generate()`` sampling arguments: ``top_k``, ``top_p``, ``min_p``,
    ``typical_p``, ``repeat_penalty``, ``frequency_penalty``, ``presence_penalty``.
``logits_processor``
    a callable ``(input_ids, scores) -> scores``, or a list of them (Python API, tests).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Mapping
from typing import Any

from ... import _images
from ..._exceptions import UsageError
from ..._types import Cancel, Chunk, Request
from ._loop import GuardedProcessors, generate_chunks
from ._models import LoadedModel, get_model, llama_cpp_module, loaded_models
from ._prompt import Prompt, build_prompt

DEFAULT_MAX_TOKENS = 512
DEFAULT_TEMPERATURE = 0.8  # llama-cpp-python's own default
_SAMPLER_DEFAULTS = {"top_k": 40, "top_p": 0.95, "min_p": 0.05, "repeat_penalty": 1.0}
_SAMPLING_OPTIONS = frozenset(
    {*_SAMPLER_DEFAULTS, "typical_p", "frequency_penalty", "presence_penalty"}
)
_LOCK_POLL_S = 0.05


class LlamaBackend:
    """In-kernel llama.cpp; see the module docstring."""

    name = "llama"

    def stream(
        self, request: Request, cancel: Cancel | None = None
    ) -> Generator[Chunk, None, None]:
        _refuse_images(request)
        llama_cpp = llama_cpp_module()
        model = _model(request)
        prompt = _prompt(request, model, llama_cpp)
        sampling = _sampling(request)
        guard = _guard(request.options.get("logits_processor"))
        tokens = _tokenize(model, prompt)
        max_tokens = _max_tokens(request, model, len(tokens))
        if not _acquire(model.lock, cancel):
            return
        try:
            model.llama.set_seed(
                request.seed if request.seed is not None else llama_cpp.LLAMA_DEFAULT_SEED
            )
            yield from generate_chunks(
                llama_cpp,
                model.llama,
                tokens,
                max_tokens=max_tokens,
                sampling=sampling,
                stop=(*request.stop, *prompt.stop),
                guard=guard,
                cancel=cancel,
            )
        finally:
            model.lock.release()

    def models(self, request: Request) -> list[str]:
        """The models loaded in this kernel, as ``path?load-options`` specs."""
        return sorted(model.spec() for model in loaded_models())

    def describe(self, request: Request) -> dict[str, Any]:
        """The model, its load options, the final prompt text and the sampling settings."""
        _refuse_images(request)
        llama_cpp = llama_cpp_module()
        model = _model(request)
        prompt = _prompt(request, model, llama_cpp)
        tokens = _tokenize(model, prompt)
        return {
            "backend": self.name,
            "model": model.path,
            "load": dict(model.options),
            "n_ctx": model.n_ctx,
            "prompt_format": prompt.format,
            "prompt": prompt.text,
            "prompt_tokens": len(tokens),
            "sampling": {
                "temperature": _temperature(request),
                "max_tokens": _max_tokens(request, model, len(tokens)),
                "seed": request.seed,
                "stop": [*request.stop, *prompt.stop],
                **{k: v for k, v in _sampling(request).items() if k != "temp"},
            },
        }


def _refuse_images(request: Request) -> None:
    """Images get a sentence, before any model loads: this backend reads text only.

    nbstream runs its own token loop over a text prompt (see :mod:`._loop`), not
    llama-cpp-python's chat handlers, the only place its vision (LLaVA-style ``mmproj``)
    support lives; and ``chat_handler`` is not a load option. So no model loaded here
    can see an image, and dropping it silently would answer a question nobody asked.
    """
    _images.refuse_raw(request)
    _images.refuse(
        request,
        "the in-kernel llama: backend reads text only",
        "send it to a vision model through openai: (llama.cpp's server started with "
        "--mmproj, vLLM, OpenAI) or ollama: (e.g. ollama:llava), or take the image out",
    )


def _model(request: Request) -> LoadedModel:
    load = request.options.get("load")
    if load is not None and not isinstance(load, Mapping):
        raise UsageError("The llama: load options must be a dict; pass them as ?name=value.")
    return get_model(request.model, dict(load) if load else None)


def _prompt(request: Request, model: LoadedModel, llama_cpp: Any) -> Prompt:
    return build_prompt(
        request,
        chat_template=model.chat_template,
        bos_token=model.bos_token,
        eos_token=model.eos_token,
        formatter_class=llama_cpp.llama_chat_format.Jinja2ChatFormatter,
    )


def _tokenize(model: LoadedModel, prompt: Prompt) -> list[int]:
    # Tokenizing reads only the vocabulary, never the context, so it needs no lock.
    tokens: list[int] = model.llama.tokenize(
        prompt.text.encode("utf-8"), add_bos=prompt.add_bos, special=prompt.special
    )
    if not tokens:
        raise UsageError("The prompt is empty; write the prompt in the cell body.")
    return tokens


def _temperature(request: Request) -> float:
    if request.temperature is None:
        return DEFAULT_TEMPERATURE
    if request.temperature < 0:
        raise UsageError("The temperature must be 0 or more; use 0 for greedy decoding.")
    return float(request.temperature)


def _sampling(request: Request) -> dict[str, Any]:
    """``generate()`` keyword arguments: temperature plus the sampler settings."""
    extra = request.options.get("sampling") or {}
    unknown = sorted(set(extra) - _SAMPLING_OPTIONS)
    if unknown:
        known = ", ".join(sorted(_SAMPLING_OPTIONS))
        raise UsageError(f"Unknown llama.cpp sampling option {unknown[0]!r}; use one of {known}.")
    return {**_SAMPLER_DEFAULTS, **extra, "temp": _temperature(request)}


def _max_tokens(request: Request, model: LoadedModel, prompt_tokens: int) -> int:
    n_ctx = model.n_ctx
    if prompt_tokens >= n_ctx:
        bigger = 1 << (prompt_tokens + DEFAULT_MAX_TOKENS).bit_length()
        raise UsageError(
            f"The prompt is {prompt_tokens} tokens but the model was loaded with a "
            f"{n_ctx}-token context window; shorten the prompt or load the model with a "
            f"bigger window such as llama:{model.path}?n_ctx={bigger}."
        )
    wanted = DEFAULT_MAX_TOKENS if request.max_tokens is None else request.max_tokens
    if wanted < 1:
        raise UsageError("max_tokens must be at least 1; pass -n/--max-tokens N with N ≥ 1.")
    return min(wanted, n_ctx - prompt_tokens)


def _guard(option: object) -> GuardedProcessors | None:
    if option is None:
        return None
    processors: list[Callable[[Any, Any], Any]] = (
        list(option) if isinstance(option, (list, tuple)) else [option]  # type: ignore[list-item]
    )
    if not all(callable(p) for p in processors):
        raise UsageError(
            "The logits_processor option must be a callable (input_ids, scores) -> scores "
            "or a list of them."
        )
    return GuardedProcessors(processors)


def _acquire(lock: threading.Lock, cancel: Cancel | None) -> bool:
    """Wait for the model (another thread may be generating); False if Stop came first."""
    while not lock.acquire(timeout=_LOCK_POLL_S):
        if cancel is not None and cancel.requested:
            return False
    return True


BACKEND = LlamaBackend()

__all__ = ["BACKEND", "DEFAULT_MAX_TOKENS", "LlamaBackend"]
