"""Main-thread cost of streaming into the chat widget, in Chromium (Playwright).

A 2,000-token Markdown answer (paragraphs, lists, code blocks, math) streams at 50 tok/s
into the chat widget's script, the way the kernel sends it: a ``delta`` every 50 ms with
the new text. The page is the widget alone (no JupyterLab: the bundled pipeline), fed by
a fake anywidget model; the same page runs the old hand-written ``chat.js`` (from git,
``--old REV``) and the new bundle. Chrome's own counters (``Performance.getMetrics``:
TaskDuration, LayoutDuration, RecalcStyleDuration, ScriptDuration) are read every 5 s,
so the table shows milliseconds of main-thread work per second of streaming as the
answer grows. What we want: flat — new text costs work in proportion to itself.

    .venv/bin/python bench/bench_frontend.py [--old bc3baaf] [--tokens 2000] [--rate 50]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import subprocess
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("NBSTREAM_CHROMIUM", "/usr/bin/chromium")

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
    if (i >= tokens.length) { clearInterval(timer); done(); }
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


def measure(browser: object, folder: Path, tokens: list[str], rate: int) -> list[dict[str, float]]:
    server, url = serve(folder)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        page.goto(url + "index.html")
        page.wait_for_selector(".nbstream-chat")

        def metrics() -> dict[str, float]:
            got = cdp.send("Performance.getMetrics")["metrics"]
            return {m["name"]: m["value"] for m in got}

        page.evaluate("([t, r]) => { window.done = window.stream(t, r); }", [tokens, rate])
        windows = []
        seconds = len(tokens) / rate
        before = metrics()
        elapsed = 0.0
        while elapsed < seconds:
            page.wait_for_timeout(5000)
            elapsed += 5
            now = metrics()
            span = now["Timestamp"] - before["Timestamp"]
            windows.append(
                {
                    "t": elapsed,
                    "task_ms_per_s": 1000 * (now["TaskDuration"] - before["TaskDuration"]) / span,
                    "layout_ms_per_s": 1000
                    * (
                        now["LayoutDuration"]
                        - before["LayoutDuration"]
                        + now["RecalcStyleDuration"]
                        - before["RecalcStyleDuration"]
                    )
                    / span,
                }
            )
            before = now
        page.evaluate("() => window.done")
        page.close()
        return windows
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default="bc3baaf", help="git revision of the old chat.js")
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=50)
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
        results = {}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            for label, folder in (("old chat.js", old), ("new bundle", new)):
                results[label] = measure(browser, folder, tokens, args.rate)
            browser.close()
    print(f"{args.tokens} tokens at {args.rate} tok/s into the chat widget (Chromium)")
    print("main-thread busy ms per s (task; layout+style), per 5 s window of streaming:")
    for label, windows in results.items():
        cells = "  ".join(f"{w['task_ms_per_s']:5.0f};{w['layout_ms_per_s']:4.0f}" for w in windows)
        print(f"  {label:12s} {cells}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
