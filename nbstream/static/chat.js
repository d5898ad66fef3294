// nbstream chat widget front end (anywidget ESM). No dependencies, nothing from a CDN.
//
// State comes from synced traits: `turns` (finished messages), `busy`, `model`,
// `model_label`, `notice`. While an answer streams, the kernel sends custom messages:
// `delta` (only the new text, at most ~20 a second) and, to a view opened mid-answer,
// one `snapshot`. Commands go back as custom messages: send, stop, reset, model, hello.
//
// Model text is never parsed as HTML: the small Markdown renderer below builds DOM
// nodes and sets text with textContent, and links keep only http(s) and mailto URLs.

const TRANSCRIPT_HEADING = "nbstream chat";
const SAFE_URL = /^(https?:|mailto:)/i;
const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}> ?/;
const ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])\s+(.*)$/;
const INLINE =
  /(`+)([^`][\s\S]*?)\1(?!`)|\*\*(?=\S)([\s\S]+?)\*\*|\b__(?=\S)([\s\S]+?)__\b|\*(?=[^\s*])([\s\S]*?[^\s*])\*|\b_(?=[^\s_])([\s\S]*?[^\s_])_\b|~~(?=\S)([\s\S]+?)~~|\[([^\]\n]+)\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)|(https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"])/g;

function h(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function appendInline(parent, text) {
  let last = 0;
  // matchAll iterates over its own copy of the regex, so the recursive calls below
  // cannot move this loop's position.
  for (const m of text.matchAll(INLINE)) {
    if (m.index > last) parent.append(text.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[1] !== undefined) {
      parent.append(h("code", "", m[2].replace(/^ (.*) $/s, "$1")));
    } else if (m[3] !== undefined || m[4] !== undefined) {
      const strong = h("strong");
      appendInline(strong, m[3] ?? m[4]);
      parent.append(strong);
    } else if (m[5] !== undefined || m[6] !== undefined) {
      const em = h("em");
      appendInline(em, m[5] ?? m[6]);
      parent.append(em);
    } else if (m[7] !== undefined) {
      const del = h("del");
      appendInline(del, m[7]);
      parent.append(del);
    } else if (m[8] !== undefined) {
      parent.append(link(m[9], m[8], true));
    } else if (m[10] !== undefined) {
      parent.append(link(m[10], m[10], false));
    }
  }
  if (last < text.length) parent.append(text.slice(last));
}

function link(url, label, formatted) {
  if (!SAFE_URL.test(url)) return document.createTextNode(formatted ? label : url);
  const a = h("a");
  a.href = url;
  a.target = "_blank";
  a.rel = "noopener noreferrer nofollow";
  // A bare URL is its own label: formatting it again would find the URL again.
  if (formatted) appendInline(a, label);
  else a.textContent = label;
  return a;
}

function paragraph(parent, lines) {
  const p = h("p");
  appendInline(p, lines.map((l) => l.trim()).join("\n"));
  parent.append(p);
}

// Block-level Markdown: fences, headings, rules, quotes, lists, paragraphs. An unclosed
// fence (mid-stream) runs to the end, which is what the answer will look like.
export function renderMarkdown(parent, source) {
  const lines = source.replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  let prose = [];
  const flush = () => {
    if (prose.length) paragraph(parent, prose);
    prose = [];
  };
  while (i < lines.length) {
    const line = lines[i];
    const fence = FENCE.exec(line);
    if (fence) {
      flush();
      const code = [];
      i += 1;
      while (i < lines.length) {
        const close = FENCE.exec(lines[i]);
        if (close && close[1][0] === fence[1][0] && close[1].length >= fence[1].length && !close[2]) break;
        code.push(lines[i]);
        i += 1;
      }
      i += 1;
      const pre = h("pre");
      const codeNode = h("code", "", code.join("\n"));
      if (fence[2]) codeNode.dataset.lang = fence[2];
      pre.append(codeNode);
      parent.append(pre);
      continue;
    }
    if (!line.trim()) {
      flush();
      i += 1;
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      flush();
      const node = h(`h${Math.min(6, heading[1].length + 2)}`);
      appendInline(node, heading[2]);
      parent.append(node);
      i += 1;
      continue;
    }
    if (RULE.test(line)) {
      flush();
      parent.append(h("hr"));
      i += 1;
      continue;
    }
    if (QUOTE.test(line)) {
      flush();
      const inner = [];
      while (i < lines.length && QUOTE.test(lines[i])) inner.push(lines[i++].replace(QUOTE, ""));
      const quote = h("blockquote");
      renderMarkdown(quote, inner.join("\n"));
      parent.append(quote);
      continue;
    }
    const item = ITEM.exec(line);
    if (item && (prose.length === 0 || !/^\d/.test(item[2]) || item[2].startsWith("1"))) {
      flush();
      i = list(parent, lines, i);
      continue;
    }
    prose.push(line);
    i += 1;
  }
  flush();
}

function list(parent, lines, start) {
  const first = ITEM.exec(lines[start]);
  const ordered = /\d/.test(first[2]);
  const node = h(ordered ? "ol" : "ul");
  if (ordered && parseInt(first[2], 10) !== 1) node.start = parseInt(first[2], 10);
  const indent = first[1].length;
  let i = start;
  let body = null;
  const close = () => {
    if (body === null) return;
    const li = h("li");
    renderMarkdown(li, body.join("\n"));
    if (li.childElementCount === 1 && li.firstChild.tagName === "P") li.replaceChildren(...li.firstChild.childNodes);
    node.append(li);
    body = null;
  };
  while (i < lines.length) {
    const line = lines[i];
    const item = ITEM.exec(line);
    if (item && item[1].length <= indent && /\d/.test(item[2]) === ordered) {
      close();
      body = [item[3]];
    } else if (!line.trim()) {
      const next = lines[i + 1];
      if (next === undefined || !(/^\s{2,}/.test(next) || (ITEM.exec(next) && ITEM.exec(next)[1].length <= indent))) break;
      body.push("");
    } else if (/^\s{2,}/.test(line) || !ITEM.test(line)) {
      if (!/^\s/.test(line) && body.length && !body[body.length - 1].trim()) break;
      body.push(line.replace(/^ {2,4}/, ""));
    } else {
      break;
    }
    i += 1;
  }
  close();
  parent.append(node);
  return i;
}

// The Markdown transcript printed under the widget is for saved notebooks; while the
// widget is live it would repeat the conversation, so hide it (JupyterLab, Notebook 7).
function hideTranscript(el) {
  let observer = null;
  let child = null;
  let tries = 0;
  let timer = 0;
  const apply = () => {
    const next = child?.nextElementSibling;
    if (next && next.textContent.trimStart().startsWith(TRANSCRIPT_HEADING)) {
      next.classList.add("nbstream-chat-transcript-hidden");
    }
  };
  // The view's element is attached to the page after render() returns: wait for it.
  const attach = () => {
    child = el.closest(".jp-OutputArea-child");
    if (!child || !child.parentElement) {
      if (++tries < 100) timer = setTimeout(attach, 50);
      return;
    }
    observer = new MutationObserver(apply);
    observer.observe(child.parentElement, { childList: true, subtree: true, characterData: true });
    apply();
  };
  attach();
  return () => {
    clearTimeout(timer);
    observer?.disconnect();
    child?.nextElementSibling?.classList.remove("nbstream-chat-transcript-hidden");
  };
}

function messageNode(turn) {
  const node = h("div", `nbstream-chat-msg nbstream-chat-${turn.role}`);
  node.dataset.role = turn.role;
  if (turn.status) node.dataset.status = turn.status;
  const body = h("div", "nbstream-chat-body");
  if (turn.role === "user") {
    body.textContent = turn.content;
  } else {
    if (turn.reasoning) {
      const details = h("details", "nbstream-chat-reasoning");
      details.append(h("summary", "", "Reasoning"));
      const inner = h("div");
      renderMarkdown(inner, turn.reasoning);
      details.append(inner);
      body.append(details);
    }
    renderMarkdown(body, turn.content || "");
  }
  node.append(body);
  if (turn.status === "error" || turn.status === "interrupted") {
    const note = turn.status === "error" ? `▲ ${turn.error || "The answer failed."}` : "■ Stopped; the partial answer is kept.";
    node.append(h("div", `nbstream-chat-note nbstream-chat-note-${turn.status}`, note));
  }
  if (turn.stats) node.append(h("div", "nbstream-chat-stats", turn.stats));
  return node;
}

function render({ model, el }) {
  const root = h("div", "nbstream-chat");
  const header = h("div", "nbstream-chat-header");
  const modelButton = h("button", "nbstream-chat-model");
  modelButton.type = "button";
  const modelInput = h("input", "nbstream-chat-model-input");
  modelInput.hidden = true;
  modelInput.setAttribute("data-lm-suppress-shortcuts", "");
  const liveStats = h("span", "nbstream-chat-live-stats");
  const resetButton = h("button", "nbstream-chat-reset", "New chat");
  resetButton.type = "button";
  header.append(modelButton, modelInput, liveStats, resetButton);
  const list = h("div", "nbstream-chat-messages");
  const pendingNode = h("div", "nbstream-chat-msg nbstream-chat-assistant nbstream-chat-pending");
  pendingNode.dataset.role = "assistant";
  pendingNode.dataset.status = "streaming";
  const notice = h("div", "nbstream-chat-notice");
  const form = h("div", "nbstream-chat-form");
  const input = h("textarea", "nbstream-chat-input");
  input.rows = 2;
  input.placeholder = "Ask something — Enter sends, Shift+Enter for a new line";
  input.setAttribute("data-lm-suppress-shortcuts", "");
  const sendButton = h("button", "nbstream-chat-send", "Send");
  sendButton.type = "button";
  const stopButton = h("button", "nbstream-chat-stop", "Stop");
  stopButton.type = "button";
  form.append(input, sendButton, stopButton);
  root.append(header, list, notice, form);
  el.append(root);

  let pending = { gen: -1, text: "", reasoning: "", stats: "" };
  let frame = 0;

  const nearBottom = () => list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const scroll = (stick) => {
    if (stick) list.scrollTop = list.scrollHeight;
  };

  const drawPending = () => {
    frame = 0;
    const stick = nearBottom();
    const busy = model.get("busy") && pending.gen === model.get("generation");
    pendingNode.replaceChildren();
    if (!busy) {
      pendingNode.remove();
      liveStats.textContent = "";
      return;
    }
    const body = h("div", "nbstream-chat-body");
    if (pending.reasoning) {
      const details = h("details", "nbstream-chat-reasoning");
      details.append(h("summary", "", "Reasoning"));
      details.append(h("div", "", pending.reasoning));
      body.append(details);
    }
    renderMarkdown(body, pending.text);
    // The cursor goes at the end of the text, inside the last paragraph or item.
    const last = body.lastElementChild;
    const host = last && /^(P|LI|H\d)$/.test(last.tagName) ? last : body;
    host.append(h("span", "nbstream-chat-cursor", "▍"));
    pendingNode.append(body, h("div", "nbstream-chat-stats", pending.stats));
    liveStats.textContent = pending.stats;
    list.append(pendingNode);
    scroll(stick);
  };
  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(drawPending);
  };

  const drawTurns = () => {
    const stick = nearBottom();
    list.replaceChildren(...model.get("turns").map(messageNode));
    drawPending();
    scroll(stick || true);
  };

  const drawState = () => {
    const busy = model.get("busy");
    modelButton.textContent = model.get("model_label") || model.get("model");
    modelButton.title = `${model.get("model")} — click to change the model`;
    root.dataset.busy = busy ? "true" : "false";
    sendButton.disabled = busy;
    stopButton.disabled = !busy;
    notice.textContent = model.get("notice");
    if (busy && pending.gen !== model.get("generation")) {
      pending = { gen: model.get("generation"), text: "", reasoning: "", stats: `● waiting · ${model.get("model_label")}` };
    }
    schedule();
  };

  const onCustom = (msg) => {
    if (!msg || typeof msg !== "object") return;
    if (msg.type === "delta") {
      if (msg.gen !== pending.gen) pending = { gen: msg.gen, text: "", reasoning: "", stats: "" };
      pending.text += msg.text;
      if (msg.reasoning) pending.reasoning += msg.reasoning;
      pending.stats = msg.stats;
    } else if (msg.type === "snapshot") {
      pending = { gen: msg.gen, text: msg.text, reasoning: msg.reasoning || "", stats: msg.stats };
    } else {
      return;
    }
    schedule();
  };

  const submit = () => {
    const text = input.value;
    if (!text.trim() || model.get("busy")) return;
    model.send({ type: "send", text });
    input.value = "";
  };
  input.addEventListener("keydown", (event) => {
    event.stopPropagation();
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  sendButton.addEventListener("click", submit);
  stopButton.addEventListener("click", () => model.send({ type: "stop" }));
  resetButton.addEventListener("click", () => model.send({ type: "reset" }));
  modelButton.addEventListener("click", () => {
    modelInput.value = model.get("model");
    modelButton.hidden = true;
    modelInput.hidden = false;
    modelInput.focus();
  });
  const closeModelInput = () => {
    modelInput.hidden = true;
    modelButton.hidden = false;
  };
  modelInput.addEventListener("keydown", (event) => {
    event.stopPropagation();
    if (event.key === "Enter") {
      event.preventDefault();
      if (modelInput.value.trim() && modelInput.value !== model.get("model")) {
        model.send({ type: "model", model: modelInput.value.trim() });
      }
      closeModelInput();
    } else if (event.key === "Escape") {
      closeModelInput();
    }
  });
  modelInput.addEventListener("blur", closeModelInput);

  // One list for on() and off(), so the cleanup cannot miss a listener.
  const listeners = [
    ["msg:custom", onCustom],
    ["change:turns", drawTurns],
    ["change:busy", drawState],
    ["change:generation", drawState],
    ["change:notice", drawState],
    ["change:model", drawState],
    ["change:model_label", drawState],
  ];
  for (const [name, handler] of listeners) model.on(name, handler);
  drawState();
  drawTurns();
  if (model.get("busy")) model.send({ type: "hello" });
  const unhide = hideTranscript(el);

  return () => {
    if (frame) cancelAnimationFrame(frame);
    unhide();
    for (const [name, handler] of listeners) model.off(name, handler);
  };
}

export default { render };
