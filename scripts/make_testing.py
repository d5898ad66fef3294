"""Writes notebooks/05-testing-llm-notebooks.ipynb, executes it with the demo model, records it.

The notebook records one answer itself (``--record``) and then reads and replays that
file. It records into a scratch folder of its own, so running the tutorial changes no
file in the repository; the generator keeps what it recorded there as the notebook's
recording, from which CI replays the ``--record`` cell — and, under ``$NBSTREAM_REPLAY``,
a cell's own ``--record`` file still gets the replayed exchange, so the cells that read
it back see the same file.
"""

from notebook_tools import build, code, why

EXAMPLE = "example.jsonl"
PROMPT = "The best way to test a notebook is"

SCRATCH = f"""\
import tempfile
from pathlib import Path

example = Path(tempfile.mkdtemp()) / "{EXAMPLE}\""""

READ = """\
import json

with open(example, encoding="utf-8") as file:
    exchange = json.loads(file.readline())

request = exchange["request"]
print(request["model"], request["messages"], request["seed"])
print(len(exchange["chunks"]), "chunks, the first:", exchange["chunks"][0])
print("ended:", exchange["ending"], "after", round(exchange["end"], 2), "s")"""

CI = """\
## In CI

Record once, on a machine with the model (or the server and its key):

```bash
NBSTREAM_RECORD=recordings/analysis.jsonl \\
    jupyter nbconvert --to notebook --execute --inplace analysis.ipynb
```

Commit the notebook and `recordings/`. CI then needs neither a model nor a network:

```bash
NBSTREAM_REPLAY=recordings pytest --nbval analysis.ipynb
```

Relative paths are taken from the notebook's folder (the kernel's working directory);
`$NBSTREAM_REPLAY` may name one file or a folder of `.jsonl` files. nbval compares
each cell's outputs with the saved ones. An instant replay shows its final answer as the
only display — the one nbval compares, since it ignores display updates — and its status
line carries the recorded timings, so the outputs match byte for byte. A cell that is not
recorded fails with the message above, so a changed prompt cannot pass silently; record
again after changing prompts or options (the latest recording of a request wins).
Cells that stream live (a paced replay, a cell with a real model) need the
`nbval-ignore-output` tag, or run nbval with `--nbval-lax`."""

cells = [
    why(
        "# Testing notebooks that call LLMs\n\n"
        "An LLM's answers change from run to run, cost money, and need a model or a network "
        "that CI does not have. So record the answers once, commit the recording, and let CI "
        "replay it: no model, no network, and "
        "[nbval](https://github.com/computationalmodelling/nbval) can compare the outputs "
        "with the saved ones, as nbstream's own notebooks are tested."
    ),
    why("Load the extension once per kernel."),
    code("%load_ext nbstream"),
    why(
        "## Recording\n\n"
        "`--record PATH` appends the cell's exchange to a JSON-lines file: the request "
        "(without any key) and each piece of the answer with the time it arrived. "
        "`$NBSTREAM_RECORD=PATH` records every cell, and `nbstream.generate(..., record=PATH)` "
        "does the same from Python.\n\n"
        "Running a tutorial should change no file, so this one records into a scratch folder; "
        "in a project, record into a folder you commit (see *In CI* below)."
    ),
    code(SCRATCH),
    code(f'%%llm -n 30 --seed 1 --record "{{example}}"\n{PROMPT}'),
    why(
        "A recording is plain JSON, one exchange per line, easy to read and to review. It "
        "names an in-kernel model by its file name only: nothing in it tells which machine "
        "(or home folder) made it, and it replays on any machine."
    ),
    code(READ),
    why(
        "## Replaying\n\n"
        "`replay:PATH` answers from the recording instead of a model. It finds the exchange "
        "by the prompt and the options (`-n`, `--seed`, `-t`, `--stop`, `--raw`, the system "
        "prompt and the conversation) and shows it as it was recorded — the same text, the "
        "same status line."
    ),
    code(f'%%llm "replay:{{example}}" -n 30 --seed 1\n{PROMPT}'),
    why(
        "Nothing is ever substituted: a request that was not recorded fails, and the "
        "message names the closest recorded request and what differs."
    ),
    code(f'%%llm "replay:{{example}}" -n 30 --seed 2\n{PROMPT}', "raises-exception"),
    why(
        "Replays are instant unless you ask for the recorded pace (`?pace=recorded`, or "
        "`$NBSTREAM_REPLAY_PACE=recorded`) — handy for a demo that must not depend on the "
        "venue's network. A paced replay streams like the real thing, so nbval is told not "
        "to compare this cell (the `nbval-ignore-output` tag)."
    ),
    code(
        f'%%llm "replay:{{example}}?pace=recorded" -n 30 --seed 1\n{PROMPT}', "nbval-ignore-output"
    ),
    why(
        "## Replaying a whole notebook\n\n"
        "`$NBSTREAM_REPLAY=PATH` makes *every* request look itself up in the recording — "
        "cells that name a model, cells that use the default, `nbstream.generate()` and "
        "`nbstream.stream()` — without changing the notebook. Usually it is set outside "
        "the notebook (see below); set here, it applies from the next cell on."
    ),
    code('import os\n\nos.environ["NBSTREAM_REPLAY"] = str(example)'),
    code(
        "import nbstream\n\n"
        f'r = nbstream.generate("{PROMPT}", max_tokens=30, seed=1)\n'
        "r.status, r.usage.completion_tokens"
    ),
    why(CI),
]

if __name__ == "__main__":
    print(build("05-testing-llm-notebooks", cells, scratch_recordings=(EXAMPLE,)))
