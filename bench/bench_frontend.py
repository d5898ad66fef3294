"""Main-thread cost of streaming into a ``%%llm`` cell and into the chat, in Chromium.

A 2,000-token Markdown answer (paragraphs, lists, code blocks, math) streams at 50 tok/s:

* **into a cell, in JupyterLab** (the built extension, a real kernel, the scripted
  OpenAI-compatible server pacing the tokens): the new way (deltas, after the
  extension's hello) and, in the same run, the old way (every coalesced update carries
  the whole bundle, ≤ 20 a second: the kernel's publisher forced back to IPython's, as
  before issue 11), and a widget host (JupyterLab with nbstream's extension disabled:
  the answer streams into its own small widget), each in a fresh server and kernel;
* **into the chat widget's script**, the way the kernel sends it (a ``delta`` every
  50 ms with the new text), on a page with the widget alone (no JupyterLab: the bundled
  pipeline) fed by a fake anywidget model: the old hand-written ``chat.js`` (from git,
  ``--old REV``) and the new bundle.

Chrome's own counters (``Performance.getMetrics``: TaskDuration, LayoutDuration,
RecalcStyleDuration) and the long tasks (``PerformanceObserver('longtask')``, tasks over
50 ms) are read every 5 s, so the table shows milliseconds of main-thread work per
second of streaming as the answer grows. What we want: flat — new text costs work in
proportion to itself, not to the whole answer.

    .venv/bin/python bench/bench_frontend.py [--old bc3baaf] [--tokens 2000] [--rate 50]
        [--only cell|chat]

Playwright drives Debian's Chromium (``/usr/bin/chromium``); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CHROMIUM = os.environ.get("NBSTREAM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]
WINDOW_S = 5
LONG_TASKS = """() => {
  window.longTaskMs = 0;
  new PerformanceObserver(list => {
    for (const entry of list.getEntries()) window.longTaskMs += entry.duration;
  }).observe({entryTypes: ['longtask']});
}"""

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="chat.css"></head><body><div id="el"></div>
<script type="module">
import chat from './chat.js';
class Model {
  constructor() { this.s = {turns: [{role: 'user', content: 'Explain it all'}], busy: true,
    generation: 1, model: 'openai:m', model_label: 'openai:m', notice: ''}; this.h = {}; }
  get(n) { return this.s[n]; }
  on(n, f) { (this.h[n] ??= []).push(f); }
  off() {}
  send() {}
  emit(n, ...a) { for (const f of this.h[n] ?? []) f(...a); }
}
const model = new Model();
(chat.default ?? chat).render({model, el: document.getElementById('el')});
window.stream = (tokens, rate) => new Promise(done => {
  let i = 0;
  const per = Math.max(1, Math.round(rate / 20));
  const timer = setInterval(() => {
    const text = tokens.slice(i, i + per).join('');
    i += per;
    model.emit('msg:custom', {type: 'delta', gen: 1, text, stats: `● streaming · ${i} tokens`});
    if (i >= tokens.length) { clearInterval(timer); window.finished = true; done(); }
  }, 1000 / 20);
});
</script></body></html>"""


def answer_tokens(count: int) -> list[str]:
    """A Markdown answer cut into ~4-character tokens, as a model writes it."""
    parts: list[str] = []
    n = 0
    while sum(len(p) for p in parts) < count * 4:
        n += 1
        parts.append(
            f"## Step {n}\n\nThis step explains **part {n}** of the answer with `code_{n}` and "
            f"a link to [the docs](https://example.org/{n}); "
            f"the cost is $O(n^{{{n % 3 + 1}}})$.\n\n"
            f"- first point of step {n}\n- second point, *emphasised*\n  - nested detail\n\n"
            f"```python\ndef step_{n}(x):\n    return x * {n}\n```\n\n"
        )
    text = "".join(parts)
    return [text[i : i + 4] for i in range(0, len(text), 4)][:count]


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def sample(page: Any, running: Callable[[], bool]) -> list[dict[str, float]]:
    """Main-thread ms per second in each 5 s window, while ``running()`` (the last window
    is the one the answer ended in: ``streaming`` False)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")

    def metrics() -> dict[str, float]:
        got = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        got["LongTask"] = float(page.evaluate("() => window.longTaskMs")) / 1000
        return got

    def per_second(now: dict[str, float], before: dict[str, float], *names: str) -> float:
        span = now["Timestamp"] - before["Timestamp"]
        return 1000 * sum(now[n] - before[n] for n in names) / span

    windows = []
    before = metrics()
    elapsed = 0
    while running():
        page.wait_for_timeout(WINDOW_S * 1000)
        elapsed += WINDOW_S
        now = metrics()
        windows.append(
            {
                "t": elapsed,
                "streaming": running(),  # False: the answer ended within this window
                "task_ms_per_s": per_second(now, before, "TaskDuration"),
                "layout_ms_per_s": per_second(now, before, "LayoutDuration", "RecalcStyleDuration"),
                "long_ms_per_s": per_second(now, before, "LongTask"),
            }
        )
        before = now
    return windows


def measure(browser: object, folder: Path, tokens: list[str], rate: int) -> list[dict[str, float]]:
    """The chat widget alone, fed ``tokens`` at ``rate`` a second."""
    server, url = serve(folder)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
        page.goto(url + "index.html")
        page.wait_for_selector(".nbstream-chat")
        page.evaluate(LONG_TASKS)
        page.evaluate("([t, r]) => { window.done = window.stream(t, r); }", [tokens, rate])
        windows = sample(page, lambda: not page.evaluate("() => window.finished === true"))
        page.evaluate("() => window.done")
        page.close()
        return windows
    finally:
        server.shutdown()
        server.server_close()


OLD_WAY = (
    "import nbstream._wire as _w, nbstream._live as _r\n"
    "_w.live_publisher = lambda: _r.IPythonPublisher()"
)


def measure_cells(browser: Any, tokens: list[str], rate: int) -> dict[str, list[dict[str, float]]]:
    """A ``%%llm`` cell in JupyterLab, the new way (deltas) and the old (whole updates);
    then in a JupyterLab with nbstream's extension off (a widget host: the answer's widget)."""
    from tests.lab import open_notebook, run_cell, start_lab, wait_for_cell, write_notebook
    from tests.servers.scripted import Script, ScriptedServer, chat_delta, sse

    body: list[Any] = [*sse(chat_delta(role="assistant"), done=False)]
    for token in tokens:
        body += [*sse(chat_delta(token), done=False), 1 / rate]
    body += sse(chat_delta(finish="stop"))
    results: dict[str, list[dict[str, float]]] = {}
    modes = (
        ("cell, old (whole updates)", OLD_WAY, ()),
        ("cell, deltas", "pass", ()),
        ("cell, widget host", "pass", ("nbstream",)),
    )
    for label, setup, disabled in modes:
        with (
            tempfile.TemporaryDirectory() as tmp,
            start_lab(Path(tmp), disabled=disabled) as lab,
            ScriptedServer(Script(body=body)) as server,
        ):
            name = f"bench-{len(results)}.ipynb"
            llm = f"%%llm openai:m --base-url {server.url}/v1\nExplain it all"
            write_notebook(lab.root / name, ["%load_ext nbstream", setup, llm])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            open_notebook(page, lab, name)
            for index in (0, 1):  # the hello (extension or widget host) comes in between
                run_cell(page, index)
                wait_for_cell(page, index)
            page.evaluate(LONG_TASKS)
            run_cell(page, 2)
            while not server.requests:
                page.wait_for_timeout(50)
            request = server.requests[0]

            def running(request: Any = request) -> bool:  # until the server has sent it all
                return not request.closed.is_set()

            results[label] = sample(page, running)
            page.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default="bc3baaf", help="git revision of the old chat.js")
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--only", choices=("cell", "chat"), help="measure one of the two")
    args = parser.parse_args()
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    tokens = answer_tokens(args.tokens)
    with tempfile.TemporaryDirectory() as tmp:
        old, new = Path(tmp, "old"), Path(tmp, "new")
        for folder in (old, new):
            folder.mkdir()
            (folder / "index.html").write_text(PAGE)
        for name in ("chat.js", "chat.css"):
            path = f"nbstream/static/{name}"
            shown = subprocess.run(
                ["git", "show", f"{args.old}:{path}"], cwd=ROOT, capture_output=True, check=True
            )
            (old / name).write_bytes(shown.stdout)
            (new / name).write_bytes((ROOT / path).read_bytes())
        results: dict[str, list[dict[str, float]]] = {}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            if args.only != "chat":
                results.update(measure_cells(browser, tokens, args.rate))
            if args.only != "cell":
                for label, folder in (("chat, old chat.js", old), ("chat, new bundle", new)):
                    results[label] = measure(browser, folder, tokens, args.rate)
            browser.close()
    load = os.getloadavg()[0]
    print(f"{args.tokens} tokens at {args.rate} tok/s (Chromium; load average {load:.1f})")
    print("main-thread ms per s (task; long tasks; layout+style), per 5 s window of streaming:")
    for label, windows in results.items():
        cells = "  ".join(
            f"{w['task_ms_per_s']:4.0f};{w['long_ms_per_s']:4.0f};{w['layout_ms_per_s']:3.0f}"
            for w in windows
        )
        print(f"  {label:26s} {cells}")
    print()
    print("| | first 5 s: task; long; layout | last 5 s: task; long; layout | windows |")
    print("|---|---|---|---|")
    for label, windows in results.items():
        full = [w for w in windows if w["streaming"]] or windows  # whole windows of streaming

        def cell(w: dict[str, float]) -> str:
            return f"{w['task_ms_per_s']:.0f}; {w['long_ms_per_s']:.0f}; {w['layout_ms_per_s']:.0f}"

        print(f"| {label} | {cell(full[0])} | {cell(full[-1])} | {len(windows)} |")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
