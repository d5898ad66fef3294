"""Notebook context in a real kernel: ``{In[n]}``, ``{Out[n]}``, ``{Err[n]}``, ``{Err.last}``,
DataFrames and the per-value budget, read from the request body the server received.

Cells are named by the execution counts the kernel gave them (``count()``), as a user
reads them in the cells' ``[n]`` labels.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator

import pytest
from PIL import Image as PILImage

from .kernel import Kernel, one_line_error
from .servers.scripted import ScriptedServer, answer


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer(answer("ok")) as running:
        yield running


def start(server: ScriptedServer) -> Kernel:
    return Kernel(env={"OPENAI_API_KEY": "sk-unused", "OPENAI_BASE_URL": f"{server.url}/v1"})


def count(kernel: Kernel, code: str) -> int:
    """Run a cell; its execution count."""
    return int(kernel.run(code).reply["content"]["execution_count"])


def asked(kernel: Kernel, server: ScriptedServer, prompt: str) -> str:
    """Run ``%%llm`` with ``prompt``; the user message's content as the server got it."""
    before = len(server.requests)
    run = kernel.run(f"%%llm openai:m\n{prompt}")
    assert run.status == "ok", run.errors
    assert len(server.requests) == before + 1
    content = server.last.json()["messages"][-1]["content"]
    assert isinstance(content, str)
    return content


@pytest.fixture(scope="module")
def kernel(server: ScriptedServer) -> Iterator[Kernel]:
    k = start(server)
    yield k
    k.shutdown()


@pytest.fixture(scope="module")
def cells(kernel: Kernel) -> dict[str, int]:
    """A notebook's history: a failure before nbstream was loaded, then a few cells."""
    before_load = count(kernel, "1 / 0")
    assert kernel.run("%load_ext nbstream").status == "ok"
    return {
        "before_load": before_load,
        "result": count(kernel, "x = 21\nx * 2"),
        "error": count(kernel, 'def f():\n    raise ValueError("bad input")\nf()'),
        "printed": count(kernel, 'print("just printing")'),
        "magic": count(kernel, "%%capture\nimport pandas as pd, numpy as np"),
    }


def test_in_out_and_err_of_a_cell(
    kernel: Kernel, server: ScriptedServer, cells: dict[str, int]
) -> None:
    r, e = cells["result"], cells["error"]
    content = asked(kernel, server, f"Code: {{In[{r}]}}\nResult: {{Out[{r}]}}\n{{Err[{e}]}}")
    assert content.startswith("Code: x = 21\nx * 2\nResult: 42\n")
    error = content.split("Result: 42\n", 1)[1]
    # IPython's traceback as the notebook showed it, without its colours.
    assert f"Cell In[{e}], line 3" in error
    assert 'raise ValueError("bad input")' in error
    assert error.endswith("ValueError: bad input")
    assert "\x1b" not in content
    # A cell magic's source is what the user typed, not what IPython ran.
    m = cells["magic"]
    assert asked(kernel, server, f"{{In[{m}]}}") == "%%capture\nimport pandas as pd, numpy as np"


def test_err_last_is_the_latest_error(
    kernel: Kernel, server: ScriptedServer, cells: dict[str, int]
) -> None:
    assert asked(kernel, server, "{Err.last}").endswith("ValueError: bad input")
    failed = count(kernel, '{}["missing"]')
    latest = asked(kernel, server, "{Err.last}")
    assert f"Cell In[{failed}], line 1" in latest and latest.endswith("KeyError: 'missing'")
    syntax = count(kernel, "1 +")
    latest = asked(kernel, server, "Why? {Err.last}")
    assert latest.endswith("SyntaxError: invalid syntax")
    assert asked(kernel, server, f"{{Err[{syntax}]}}") == latest.removeprefix("Why? ")
    # nbstream's own one-line errors read as the line the user saw.
    refused = count(kernel, "%%llm openai:m --temperature hot\nHi")
    assert asked(kernel, server, f"{{Err[{refused}]}}").startswith("UsageError: Argument -t/")


def test_an_error_from_before_nbstream_was_loaded(
    kernel: Kernel, server: ScriptedServer, cells: dict[str, int]
) -> None:
    # IPython (9) keeps every cell's error itself.
    assert asked(kernel, server, f"{{Err[{cells['before_load']}]}}").endswith(
        "ZeroDivisionError: division by zero"
    )


def test_without_ipythons_own_record_err_last_still_finds_it(server: ScriptedServer) -> None:
    k = start(server)
    try:
        failed = count(k, "1 / 0")
        # An IPython that keeps no errors itself (before 9): only sys.last_value is left.
        k.run("get_ipython().history_manager.exceptions.clear()")
        loading = count(k, "%load_ext nbstream")
        last = asked(k, server, "{Err.last}")
        assert last.startswith("---") and last.endswith("ZeroDivisionError: division by zero")
        assert "\x1b" not in last
        message = one_line_error(k.run(f"%%llm openai:m\n{{Err[{failed}]}}"))
        assert message == (
            f"Cell {failed} ran before nbstream was loaded, so its error was not recorded; "
            "run the cell again, or use {Err.last}."
        )
        # From loading on (the loading cell included), nbstream records each error itself
        # (its post_run_cell hook).
        assert one_line_error(k.run(f"%%llm openai:m\n{{Err[{loading}]}}")).startswith(
            f"Cell {loading} did not fail;"
        )
        later = count(k, "int('x')")
        k.run("get_ipython().history_manager.exceptions.clear()")
        recorded = asked(k, server, f"{{Err[{later}]}}")
        assert f"Cell In[{later}], line 1" in recorded
        assert recorded.endswith("ValueError: invalid literal for int() with base 10: 'x'")
        assert asked(k, server, "{Err.last}") == recorded
    finally:
        k.shutdown()


def test_a_dataframe_is_a_compact_table(
    kernel: Kernel, server: ScriptedServer, cells: dict[str, int]
) -> None:
    kernel.run(
        "sales = pd.DataFrame({'units': np.arange(2_000_000), "
        "'price': np.arange(2_000_000) / 4})\nsales"
    )
    content = asked(kernel, server, "Here is the data: {sales}")
    lines = content.splitlines()
    assert lines[0] == "Here is the data: pandas.DataFrame: 2,000,000 rows × 2 columns"
    assert lines[1:4] == [
        "|  | units: int64 | price: float64 |",
        "| --- | --- | --- |",
        "| 0 | 0 | 0.0 |",
    ]
    assert lines[-2:] == ["| 1999999 | 1999999 | 499999.75 |", "(1,999,990 rows not shown)"]
    # A frame that is a cell's result reads the same through Out.
    shown = count(kernel, "sales.head(3)")
    assert asked(kernel, server, f"{{Out[{shown}]}}").splitlines()[:2] == [
        "pandas.DataFrame: 3 rows × 2 columns",
        "|  | units: int64 | price: float64 |",
    ]


def test_a_200_mb_dataframe_sends_about_a_thousand_characters(
    kernel: Kernel, server: ScriptedServer, cells: dict[str, int]
) -> None:
    kernel.run("big = pd.DataFrame(np.zeros((2_600_000, 10)))")
    assert kernel.value("int(big.memory_usage().sum()) > 200_000_000")
    content = asked(kernel, server, "{big}")
    assert content.startswith("pandas.DataFrame: 2,600,000 rows × 10 columns\n")
    assert content.endswith("\n(2,599,990 rows not shown)")
    assert len(content) < 1_100


def test_the_budget_is_read_live_and_marks_what_it_cut(
    kernel: Kernel, server: ScriptedServer, cells: dict[str, int]
) -> None:
    kernel.run('long = "BEGIN" + "x" * 20_000 + "END"')
    whole = asked(kernel, server, "{long}")
    assert whole.startswith("BEGIN") and whole.endswith("END")
    assert "[… 16,0" in whole and " of 20,008 characters left out …]" in whole
    assert len(whole) <= 4_000
    assert kernel.run("%config LLMMagics.max_value_chars = 500").status == "ok"
    try:
        cut = asked(kernel, server, "Text: {long}!")
        assert cut.startswith("Text: BEGIN") and cut.endswith("END!")
        assert len(cut) <= len("Text: !") + 500
        assert "[… 19,5" in cut and " of 20,008 characters left out …]" in cut
    finally:
        kernel.run("%config LLMMagics.max_value_chars = 4000")


def test_bad_references_are_one_sentence_and_send_nothing(
    kernel: Kernel, server: ScriptedServer, cells: dict[str, int]
) -> None:
    r, p = cells["result"], cells["printed"]
    expected = {
        f"{{Err[{r}]}}": (
            f"Cell {r} did not fail; {{Err[n]}} is the error a cell raised (check the number, "
            "or use {Err.last} for the most recent error)."
        ),
        f"{{Out[{p}]}}": (
            f"Cell {p} has no result in Out (it printed, displayed or returned nothing, or "
            "ended with ;); name the value itself, e.g. {df}."
        ),
        "{In[9999]}": (
            "{In[9999]}: no cell has run with execution count 9999 in this kernel session "
            "(the latest is "
        ),
        "{Err[0]}": "{Err[0]}: no cell has run with execution count 0 in this kernel session",
        "{Out}": "{Out} needs a cell's execution count: write {Out[3]} for the cell labelled [3].",
    }
    before = len(server.requests)
    for reference, sentence in expected.items():
        run = kernel.run(f"%%llm openai:m\nAbout {reference}")
        assert run.errors[0]["content"]["ename"] == "UsageError", reference
        assert one_line_error(run).startswith(sentence), reference
        assert not run.displays, reference
    assert len(server.requests) == before
    assert kernel.run("1 + 1").status == "ok"


def test_a_figure_and_an_image_output_go_as_image_parts(
    kernel: Kernel, server: ScriptedServer, cells: dict[str, int]
) -> None:
    """``{fig}`` and ``{Out[n]}`` of a plot, through ``%%llm`` in a real kernel: the server
    gets a text part with the markers and PNG ``image_url`` parts that decode to the
    figures' pixels, in the order the placeholders came."""
    assert (
        kernel.run(
            "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
            "fig, ax = plt.subplots(figsize=(4, 3), dpi=50)\nax.plot([1, 3, 2]);"
        ).status
        == "ok"
    )
    shown = count(kernel, "small, ax2 = plt.subplots(figsize=(2, 1), dpi=50)\nsmall")
    before = len(server.requests)
    run = kernel.run(f"%%llm openai:m\nWhat trend? {{fig}} And here: {{Out[{shown}]}}")
    assert run.status == "ok", run.errors
    assert len(server.requests) == before + 1
    content = server.last.json()["messages"][-1]["content"]
    assert content[0] == {"type": "text", "text": "What trend? [image 1] And here: [image 2]"}
    sizes = []
    for part in content[1:]:
        assert part["type"] == "image_url"
        head, _, payload = part["image_url"]["url"].partition(",")
        assert head == "data:image/png;base64"
        picture = PILImage.open(io.BytesIO(base64.b64decode(payload)))
        assert picture.format == "PNG"
        sizes.append(picture.size)
    assert sizes == [(200, 150), (100, 50)]
