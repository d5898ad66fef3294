"""The llama: backend against a real llama.cpp running the tiny generated GGUF.

Exact token sequences are forced with a logits processor that leaves one token allowed
at each step (:class:`Force`), so the tests can split characters into byte tokens, emit
invalid bytes, end at a chosen token, or raise from inside the loop the way a kernel
interrupt does. Nothing is mocked: the model, the tokenizer, the chat template and (in
the last test) the Jupyter kernel are the real ones.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench._baselines import raw_generate_loop
from nbstream._exceptions import BackendUnavailable, ModelNotFound, UsageError
from nbstream._types import Cancel, Chunk, Message, Request
from nbstream.backends import get_backend
from nbstream.backends.llamacpp import BACKEND, DEFAULT_MAX_TOKENS
from nbstream.backends.llamacpp._models import get_model, loaded_models
from nbstream.backends.llamacpp._prompt import TRANSCRIPT_STOP

from .tinymodel import (
    BOS_ID,
    EOS_ID,
    FIRST_PIECE_ID,
    byte_id,
    piece_id,
    vocabulary,
    write_tiny_model,
)

ROOT = Path(__file__).resolve().parent.parent


class Force:
    """A logits processor that allows exactly one token per step: ``ids``, then ``then``."""

    def __init__(
        self, ids: Sequence[int], then: int = EOS_ID, on_call: dict[int, Any] | None = None
    ) -> None:
        self.ids = list(ids)
        self.then = then
        self.on_call = on_call or {}
        self.calls = 0
        self.first_input_ids: list[int] | None = None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        step = self.calls
        self.calls += 1
        if self.first_input_ids is None:
            self.first_input_ids = [int(i) for i in input_ids]
        action = self.on_call.get(step)
        if action is not None:
            action()
        token = self.ids[step] if step < len(self.ids) else self.then
        forced = np.full_like(scores, -np.inf)
        forced[token] = 0.0
        return forced


def words(*pieces: str) -> list[int]:
    return [piece_id(p) for p in pieces]


def utf8(text: str) -> list[int]:
    return [byte_id(b) for b in text.encode("utf-8")]


def make_request(model: Path, **fields: Any) -> Request:
    fields.setdefault("prompt", "Hello world")
    fields.setdefault("temperature", 0)
    return Request(backend="llama", model=str(model), **fields)


def forced(model: Path, force: Force, **fields: Any) -> Request:
    return make_request(model, options={"logits_processor": force}, **fields)


def run(request: Request, cancel: Cancel | None = None) -> list[Chunk]:
    return list(BACKEND.stream(request, cancel))


def joined(chunks: list[Chunk]) -> str:
    return "".join(c.text for c in chunks)


def lock_of(model: Path) -> threading.Lock:
    return get_model(str(model)).lock


# --- the tiny model itself ---------------------------------------------------------


def test_tiny_model_is_deterministic_and_tokenizes_words(tmp_path: Path, tiny_model: Path) -> None:
    again = write_tiny_model(tmp_path / "again.gguf")
    assert again.read_bytes() == tiny_model.read_bytes()
    llama = get_model(str(tiny_model)).llama
    assert llama.n_vocab() == len(vocabulary())
    assert llama.tokenize(b"Hello world") == [BOS_ID, *words("▁Hello", "▁world")]
    # Text outside the vocabulary falls back to byte tokens.
    assert llama.tokenize("Ω".encode(), add_bos=False)[-2:] == utf8("Ω")


def test_tiny_model_greedy_never_picks_eos_or_bytes(tiny_model: Path) -> None:
    llama = get_model(str(tiny_model)).llama
    tokens: list[int] = []
    for token in llama.generate(llama.tokenize(b"Hello world"), temp=0.0):
        tokens.append(token)
        if len(tokens) == 1500:
            break
    assert min(tokens) >= FIRST_PIECE_ID


# --- the token loop ------------------------------------------------------------------


def test_split_multibyte_characters_come_out_whole(tiny_model: Path) -> None:
    force = Force([*utf8("你"), *words("▁hello"), *utf8("🚀"), *utf8("é")])
    chunks = run(forced(tiny_model, force))
    assert [c.text for c in chunks[:-1]] == ["你", " hello", "🚀", "é"]
    assert [c.tokens for c in chunks] == [3, 1, 4, 2, 0]
    assert chunks[-1].finish_reason == "stop"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 10


def test_invalid_bytes_become_replacement_characters_without_stalling(tiny_model: Path) -> None:
    force = Force([byte_id(0xFF), *words("▁hello"), byte_id(0xE4), *words("▁world")])
    chunks = run(forced(tiny_model, force))
    # " hello" arrives with its own token, not held back until the end.
    assert [c.text for c in chunks] == ["\ufffd", " hello", "\ufffd world", ""]
    assert sum(c.tokens for c in chunks) == 4


def test_incomplete_character_at_the_end_is_flushed(tiny_model: Path) -> None:
    chunks = run(forced(tiny_model, Force([*words("▁ok"), *utf8("好")[:2]])))
    assert joined(chunks) == " ok\ufffd"
    assert chunks[-1].tokens == 2  # the two bytes that never made a character
    assert sum(c.tokens for c in chunks) == 3


def test_eos_ends_with_stop_and_exact_usage(tiny_model: Path) -> None:
    force = Force(words("▁the", "▁model", "▁can", "▁think", "▁now"))
    chunks = run(forced(tiny_model, force))
    assert joined(chunks) == " the model can think now"
    assert all(c.text for c in chunks[:-1])  # no empty chunk before the last one
    final = chunks[-1]
    assert final.finish_reason == "stop"
    assert final.usage is not None
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (3, 5)
    assert sum(c.tokens for c in chunks) == 5
    assert force.calls == 6  # five words and the EOS; nothing sampled after it


def test_max_tokens_ends_with_length(tiny_model: Path) -> None:
    chunks = run(make_request(tiny_model, max_tokens=7))
    final = chunks[-1]
    assert final.finish_reason == "length"
    assert final.usage is not None
    assert final.usage.completion_tokens == 7
    assert sum(c.tokens for c in chunks) == 7


def test_default_max_tokens(tiny_model: Path) -> None:
    chunks = run(make_request(tiny_model))
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == DEFAULT_MAX_TOKENS


def test_max_tokens_never_runs_past_the_context_window(tiny_model: Path) -> None:
    request = make_request(tiny_model, max_tokens=10_000, options={"load": {"n_ctx": 256}})
    n_ctx = get_model(str(tiny_model), {"n_ctx": 256}).n_ctx
    final = run(request)[-1]
    assert final.finish_reason == "length"
    assert final.usage is not None
    assert final.usage.completion_tokens == n_ctx - 3


def test_prompt_longer_than_the_context_is_a_one_sentence_error(tiny_model: Path) -> None:
    request = make_request(tiny_model, prompt="hello " * 300, options={"load": {"n_ctx": 256}})
    with pytest.raises(UsageError) as caught:
        run(request)
    message = caught.value.message
    assert "context window" in message
    assert "?n_ctx=" in message
    assert message.count(". ") == 0 and message.endswith(".")


def test_stop_string_cuts_and_nothing_after_leaks(tiny_model: Path) -> None:
    force = Force(words("▁hello", "▁world", "▁the", "▁end"))
    chunks = run(forced(tiny_model, force, stop=(" world",)))
    assert joined(chunks) == " hello"
    assert chunks[-1].finish_reason == "stop"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 2
    assert force.calls == 2  # generation stopped at the token that completed the stop


def test_stop_string_split_across_tokens(tiny_model: Path) -> None:
    force = Force(words("▁hello", "▁world", "▁the"))
    chunks = run(forced(tiny_model, force, stop=("lo wor",)))
    assert joined(chunks) == " hel"
    assert chunks[-1].finish_reason == "stop"


def test_stop_string_split_across_byte_tokens(tiny_model: Path) -> None:
    force = Force([*words("▁hello"), *utf8("好"), *words("▁world")])
    chunks = run(forced(tiny_model, force, stop=("好",)))
    assert joined(chunks) == " hello"
    assert chunks[-1].finish_reason == "stop"


def test_partial_stop_match_is_held_then_released(tiny_model: Path) -> None:
    force = Force(words("▁hello", "▁world"))
    chunks = run(forced(tiny_model, force, stop=("hello there",)))
    # "hello" could have been the start of the stop string, so it waited for " world";
    # the space before it could not, so it was not held.
    assert [c.text for c in chunks if c.text] == [" ", "hello world"]
    assert chunks[-1].finish_reason == "stop"
    assert sum(c.tokens for c in chunks) == 2


def test_text_that_cannot_start_a_stop_string_is_not_held(tiny_model: Path) -> None:
    force = Force(words("▁hello", "▁world"))
    chunks = run(forced(tiny_model, force, stop=("xyz",)))
    assert [c.text for c in chunks] == [" hello", " world", ""]


def test_stop_string_held_at_the_end_is_released(tiny_model: Path) -> None:
    force = Force(words("▁hello", "▁wo"))
    chunks = run(forced(tiny_model, force, stop=(" world",)))
    assert joined(chunks) == " hello wo"
    assert chunks[-1].text == " wo"


def test_seed_makes_sampling_repeatable(tiny_model: Path) -> None:
    def sample(seed: int) -> str:
        return joined(run(make_request(tiny_model, temperature=0.9, seed=seed, max_tokens=30)))

    assert sample(7) == sample(7)
    assert sample(7) != sample(8)


def test_raw_loop_matches_the_backend(tiny_model: Path) -> None:
    llama = get_model(str(tiny_model)).llama
    text, seconds = raw_generate_loop(llama, llama.tokenize(b"Hello world"), 100)
    assert seconds > 0
    assert text == joined(run(make_request(tiny_model, max_tokens=100)))


# --- prompts ---------------------------------------------------------------------------


def test_chat_template_is_applied(tiny_chat_model: Path) -> None:
    messages = (Message("system", "Be brief."), Message("user", "Hello"))
    request = make_request(tiny_chat_model, messages=messages, prompt="")
    described = BACKEND.describe(request)
    assert described["prompt_format"] == "chat template"
    assert described["prompt"] == "<s><|system|>\nBe brief.\n<|user|>\nHello\n<|assistant|>\n"
    assert described["model"] == str(tiny_chat_model.resolve())
    assert described["sampling"]["temperature"] == 0

    force = Force(words("▁ok"))
    run(forced(tiny_chat_model, force, messages=messages, prompt=""))
    assert force.first_input_ids is not None
    # The template wrote <s> as text; it became the BOS token, once.
    assert force.first_input_ids[0] == BOS_ID
    assert force.first_input_ids.count(BOS_ID) == 1
    assert len(force.first_input_ids) == described["prompt_tokens"]


def test_template_that_rejects_messages_is_a_usage_error(tmp_path: Path) -> None:
    model = write_tiny_model(
        tmp_path / "strict.gguf", chat_template="{{ raise_exception('No system role') }}"
    )
    request = make_request(model, messages=(Message("system", "x"), Message("user", "y")))
    with pytest.raises(UsageError, match=r"No system role.*--raw"):
        run(request)


def test_base_model_single_turn_is_plain_text(tiny_model: Path) -> None:
    messages = (Message("system", "Be brief."), Message("user", "Hello"))
    described = BACKEND.describe(make_request(tiny_model, messages=messages, prompt=""))
    assert described["prompt_format"] == "plain"
    assert described["prompt"] == "Be brief.\n\nHello"
    assert described["sampling"]["stop"] == []


def test_base_model_conversation_is_a_transcript_with_a_stop(tiny_model: Path) -> None:
    messages = (
        Message("user", "Hi"),
        Message("assistant", "Hello"),
        Message("user", "Bye"),
    )
    request = make_request(tiny_model, messages=messages, prompt="")
    described = BACKEND.describe(request)
    assert described["prompt_format"] == "transcript"
    assert described["prompt"] == "User: Hi\nAssistant: Hello\nUser: Bye\nAssistant:"
    assert described["sampling"]["stop"] == [TRANSCRIPT_STOP]

    force = Force([*words("▁ok"), byte_id(0x0A), *words("U", "s", "e", "r", ":", "▁more")])
    chunks = run(forced(tiny_model, force, messages=messages, prompt=""))
    assert joined(chunks) == " ok"
    assert chunks[-1].finish_reason == "stop"


def test_raw_sends_the_prompt_as_is(tiny_chat_model: Path) -> None:
    request = make_request(tiny_chat_model, prompt="Once upon a time", raw=True)
    described = BACKEND.describe(request)
    assert described["prompt_format"] == "raw"
    assert described["prompt"] == "Once upon a time"


def test_special_token_text_in_a_user_prompt_stays_text(tiny_model: Path) -> None:
    force = Force(words("▁ok"))
    run(forced(tiny_model, force, prompt="a </s> b"))
    assert force.first_input_ids is not None
    assert EOS_ID not in force.first_input_ids


# --- cache, lock, interrupts ---------------------------------------------------------


def test_model_cache_hit_and_distinct_keys(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = get_model(str(tiny_model))
    monkeypatch.chdir(tiny_model.parent)
    assert get_model(tiny_model.name) is first  # same file, relative path: one load
    run(make_request(tiny_model, max_tokens=2))
    assert get_model(str(tiny_model)) is first
    other = get_model(str(tiny_model), {"n_ctx": 512})
    assert other is not first
    assert other.llama is not first.llama
    assert other.n_ctx == 512
    assert get_model(str(tiny_model), {"n_ctx": 512}) is other
    specs = BACKEND.models(make_request(tiny_model))
    assert f"{first.path}?n_ctx=4096" in specs
    assert f"{first.path}?n_ctx=512" in specs
    assert len(specs) == len(loaded_models())


def test_lock_is_held_while_generating(tiny_model: Path) -> None:
    lock = lock_of(tiny_model)
    seen: list[bool] = []
    force = Force(words("▁a", "▁b"), on_call={1: lambda: seen.append(lock.locked())})
    run(forced(tiny_model, force))
    assert seen == [True]
    assert not lock.locked()


def test_lock_released_after_an_exception(tiny_model: Path) -> None:
    def boom() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        run(forced(tiny_model, Force(words("▁a", "▁b", "▁c"), on_call={2: boom})))
    assert not lock_of(tiny_model).locked()
    assert joined(run(forced(tiny_model, Force(words("▁the", "▁end"))))) == " the end"


def test_keyboard_interrupt_inside_the_loop_leaves_the_model_usable(tiny_model: Path) -> None:
    def interrupt() -> None:
        raise KeyboardInterrupt

    seen: list[Chunk] = []
    force = Force(words("▁a", "▁b", "▁c", "▁d"), on_call={2: interrupt})
    with pytest.raises(KeyboardInterrupt):
        for chunk in BACKEND.stream(forced(tiny_model, force)):
            seen.append(chunk)
    assert joined(seen) == " a b"
    assert not lock_of(tiny_model).locked()
    assert joined(run(forced(tiny_model, Force(words("▁the", "▁end"))))) == " the end"


def test_keyboard_interrupt_thrown_at_a_yield_releases(tiny_model: Path) -> None:
    generator = BACKEND.stream(make_request(tiny_model, max_tokens=50))
    next(generator)
    assert lock_of(tiny_model).locked()
    with pytest.raises(KeyboardInterrupt):
        generator.throw(KeyboardInterrupt)
    assert not lock_of(tiny_model).locked()
    assert run(make_request(tiny_model, max_tokens=3))[-1].finish_reason == "length"


def test_closing_the_generator_releases(tiny_model: Path) -> None:
    generator = BACKEND.stream(make_request(tiny_model, max_tokens=50))
    next(generator)
    next(generator)
    generator.close()
    assert not lock_of(tiny_model).locked()
    assert joined(run(forced(tiny_model, Force(words("▁the", "▁end"))))) == " the end"


def test_two_threads_take_turns_on_one_model(tiny_model: Path) -> None:
    results: dict[str, str] = {}
    order: list[str] = []

    def generate(name: str, ids: list[int], on_call: dict[int, Any]) -> None:
        force = Force(ids, on_call={0: lambda: order.append(name + " starts"), **on_call})
        results[name] = joined(run(forced(tiny_model, force)))
        order.append(name + " ends")

    second = threading.Thread(target=generate, args=("B", words("▁b", "▁b"), {}))

    def start_second_and_dawdle() -> None:
        second.start()
        time.sleep(0.2)  # B is waiting for the lock all this time

    first = threading.Thread(
        target=generate, args=("A", words("▁a", "▁a", "▁a"), {1: start_second_and_dawdle})
    )
    first.start()
    first.join(10)
    second.join(10)
    assert results == {"A": " a a a", "B": " b b"}
    assert order == ["A starts", "A ends", "B starts", "B ends"]


def test_cancel_stops_within_one_token(tiny_model: Path) -> None:
    cancel = Cancel()
    force = Force(words(*["▁go"] * 20), on_call={4: cancel.request})
    chunks = run(forced(tiny_model, force), cancel)
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 5
    assert force.calls == 5
    assert chunks[-1].finish_reason is None
    assert not lock_of(tiny_model).locked()


def test_cancel_while_waiting_for_the_lock(tiny_model: Path) -> None:
    lock = lock_of(tiny_model)
    cancel = Cancel()
    results: queue.Queue[list[Chunk]] = queue.Queue()
    lock.acquire()
    try:
        waiter = threading.Thread(target=lambda: results.put(run(make_request(tiny_model), cancel)))
        waiter.start()
        time.sleep(0.1)
        assert results.empty()
        cancel.request()
        assert results.get(timeout=1) == []
    finally:
        lock.release()
    waiter.join(1)


# --- errors --------------------------------------------------------------------------


def test_missing_file_is_model_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.gguf"
    with pytest.raises(ModelNotFound) as caught:
        run(make_request(missing))
    assert str(missing) in caught.value.message
    assert caught.value.message.endswith(".")
    assert "Traceback" not in caught.value.message


def test_file_that_is_not_a_model(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"this is not a GGUF file at all")
    with pytest.raises(ModelNotFound) as caught:
        run(make_request(broken))
    message = caught.value.message
    assert f"could not load {broken}" in message
    # The cause comes from llama.cpp's own log, caught by nbstream's log callback.
    assert "(invalid magic characters: 'this', expected 'GGUF')" in message


def test_unknown_load_option(tiny_model: Path) -> None:
    with pytest.raises(UsageError, match="'n_ctxx'"):
        run(make_request(tiny_model, options={"load": {"n_ctxx": 512}}))


def test_unknown_sampling_option(tiny_model: Path) -> None:
    with pytest.raises(UsageError, match="'top_q'"):
        run(make_request(tiny_model, options={"sampling": {"top_q": 1}}))


def test_missing_llama_cpp_python_says_how_to_install(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    with pytest.raises(BackendUnavailable, match=r'pip install "nbstream\[llama\]"'):
        run(make_request(tiny_model))


def test_registered_under_llama() -> None:
    backend: object = get_backend("llama")
    assert backend is BACKEND


# --- logs ----------------------------------------------------------------------------


def test_load_and_generation_print_nothing(
    tiny_chat_model: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    options = {"load": {"n_ctx": 768}}  # a fresh load, not a cache hit
    run(make_request(tiny_chat_model, options=options, max_tokens=20))
    assert capfd.readouterr() == ("", "")


def _run_cell(client: Any, code: str, linger: float = 0.0) -> str:
    """Execute ``code``; return everything the kernel printed until idle (+ ``linger`` s)."""
    msg_id = client.execute(code)
    printed: list[str] = []
    idle = False
    deadline = None
    while True:
        timeout = 60.0 if deadline is None else max(deadline - time.monotonic(), 0.0)
        try:
            message = client.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            if deadline is None:
                raise
            break
        kind, content = message["msg_type"], message["content"]
        if kind == "stream":
            printed.append(content["text"])
        elif kind == "error":
            raise AssertionError("\n".join(content["traceback"]))
        elif kind == "status" and message["parent_header"].get("msg_id") == msg_id:
            idle = content["execution_state"] == "idle"
        if idle and deadline is None:
            deadline = time.monotonic() + linger
    return "".join(printed)


@pytest.mark.timeout(120)
def test_kernel_cell_shows_no_llama_cpp_logs(tiny_chat_model: Path) -> None:
    from jupyter_client.manager import start_new_kernel

    path = str(tiny_chat_model)
    env = dict(os.environ)
    env.pop("PYTEST_CURRENT_TEST", None)  # ipykernel does not capture fd output under pytest
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    manager, client = start_new_kernel(kernel_name="python3", env=env)
    try:
        silent = _run_cell(
            client,
            "from nbstream._types import Message, Request\n"
            "from nbstream.backends.llamacpp import BACKEND\n"
            f"request = Request(backend='llama', model={path!r}, temperature=0, max_tokens=40,\n"
            "                  messages=(Message('user', 'Hello'),))\n"
            "chunks = list(BACKEND.stream(request))\n"
            "assert chunks[-1].usage.completion_tokens == 40, chunks[-1]\n",
            linger=1.0,
        )
        # Controls: the same kernel does show C-level stderr, and llama-cpp-python's
        # own verbose load does print into the cell, so the silence above is real.
        marker = _run_cell(client, "import os; os.write(2, b'fd-level marker\\n')", linger=1.0)
        control = _run_cell(client, f"import llama_cpp; llama_cpp.Llama({path!r}, n_ctx=256)")
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert silent == ""
    assert "fd-level marker" in marker
    assert "Model metadata" in control
