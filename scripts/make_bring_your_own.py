"""Writes notebooks/06-bring-your-own.ipynb, executes it against real sources, records it.

The notebook starts llama-cpp-python's OpenAI-compatible server with the demo model and
hands nbstream a stream made by the real ``openai`` client; a small Python function is
the chat's model. Under ``$NBSTREAM_REPLAY`` no server starts and the stream is never
opened: ``show()`` closes the generator unread and plays the recorded chunks, matched by
the ``model`` name and the call's place in the kernel (see the README).
"""

from make_endpoints import START_SERVER
from notebook_tools import build, code, why

STREAM = """\
from openai import OpenAI

client = OpenAI(base_url=base_url, api_key="not-needed")


def ask(question):
    \"""The openai stream, opened only when show() starts reading it.\"""
    stream = client.chat.completions.create(
        model="gemma-270m",
        messages=[{"role": "user", "content": question}],
        max_tokens=40, temperature=0, seed=1, stream=True,
    )
    with stream:
        yield from stream"""

FUNCTION = """\
import time


def shout(messages, options=None):
    \"""A model is any function of the messages: this one echoes the question, loudly.\"""
    words = messages[-1]["content"].split()
    for word in words:
        time.sleep(0.05)  # as if each word came from far away
        yield word.upper() + " "
    yield f"\\n\\n({len(words)} words; options: {sorted(options or {})})\""""

cells = [
    why(
        "# Bring your own stream or function\n\n"
        "Most notebooks already hold a stream — from the `openai` or `ollama` client, "
        "Anthropic, LangChain, llama-cpp-python, a RAG pipeline — or a function that "
        "answers. `nbstream.show(stream)` shows any of them live in the cell, exactly "
        "like `%%llm` (Markdown, status line, Stop, the `Response`), and any Python "
        "function can be the model of `%%llm`, `generate()` and the chat.\n\n"
        "This notebook starts llama-cpp-python's OpenAI-compatible server with the demo "
        "model, so it needs no key and no network. Under `$NBSTREAM_REPLAY` — how it is "
        "tested — no server starts and the recorded answers are shown instead."
    ),
    code("%load_ext nbstream\nimport nbstream"),
    code(START_SERVER, "nbval-ignore-output"),
    why(
        "## `show()`: a stream you already have\n\n"
        "A stream from the official `openai` client, wrapped in a generator so that it is "
        "opened when `show()` starts reading (and never under replay). Each chunk is "
        "recognised by its shape; nbstream imports no client package."
    ),
    code(STREAM),
    code('r = nbstream.show(ask("The three primary colours are"), model="gemma-270m")'),
    why(
        "`show()` returns the `Response`, as `%%llm` does (also in `_llm`). Stop, or "
        "interrupting the kernel, ends the answer within half a second and closes what "
        "you handed over — here the generator, and with it the `openai` stream and its "
        "HTTP connection, so the server stops generating."
    ),
    code("r.status, r.usage.completion_tokens, r.text[:40]"),
    why(
        "## A function as the model\n\n"
        "`py:NAME` names a function in the notebook wherever a spec goes: `%%llm py:shout`, "
        "an alias, `%llm use`. It gets the messages and, when it has an `options` "
        "parameter, what the request set. It returns a string, or yields chunks of any "
        "shape `show()` reads."
    ),
    code(FUNCTION),
    code("%%llm py:shout -t 0.2\nwhere is the nearest station?"),
    why(
        "The chat widget takes a function too: `nbstream.chat(model=shout)`. Its answers "
        "stream in the widget like any model's, and Stop works the same."
    ),
    code("chat = nbstream.chat(model=shout)\nchat", "nbval-ignore-output"),
    code(
        'chat.send("does the chat stream a function too")\n'
        "response = chat.wait()\n"
        "response.status, response.text"
    ),
    why("Stop the server when you are done."),
    code("if server is not None:\n    server.terminate()"),
]

if __name__ == "__main__":
    print(build("06-bring-your-own", cells))
