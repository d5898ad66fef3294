/**
 * The chat widget's front end (an anywidget ES module, built by esbuild into
 * `nbstream/static/chat.js`; its style into `chat.css`). Nothing is loaded from a CDN.
 *
 * State comes from synced traits: `turns` (finished messages), `busy`, `generation`,
 * `model`, `model_label`, `notice`. While an answer streams, the kernel sends custom
 * messages: `delta` (only the new text, at most ~20 a second) and, to a view opened
 * mid-answer, one `snapshot`. Commands go back as custom messages: send, stop, reset,
 * model, hello.
 *
 * An image pasted or dropped into the input box waits under it as a thumbnail (× removes
 * it) and goes with the next send: the file's bytes as a buffer of the `send` message,
 * described in order by `images: [{mime, name}]`. The kernel checks and keeps them; the
 * user's turn comes back with a thumbnail (a data URI) and a placeholder line.
 *
 * Every assistant message is the same streaming answer view as a cell's answer
 * (`answer.ts`). Inside JupyterLab / Notebook 7 its Markdown goes through JupyterLab's
 * own pipeline (found through the nbstream plugin's hook, `hook.ts`); elsewhere through
 * the bundled one (`standalone.ts`). Either way the policy of `policy.ts` applies.
 */

import { IAnswerActions, IPayload } from './answer';
import { registerAnswerHost } from './answerhost';
import { copyText } from './clipboard';
import { assistantMessage, IMessage, ITurn, turnMessage, turnPayload } from './conversation';
import { findHook } from './hook';
import { MarkdownRender } from './live';
import { standaloneMarkdown } from './standalone';

/** The part of anywidget's model this front end uses. */
export interface IWidgetModel {
  get(name: string): any;
  on(name: string, callback: (...args: any[]) => void): void;
  off(name: string, callback: (...args: any[]) => void): void;
  send(content: Record<string, unknown>, callbacks?: unknown, buffers?: ArrayBuffer[]): void;
}

/** An image waiting in the input box for the next send. */
interface IAttachment {
  file: Blob;
  mime: string;
  url: string;
}

/** The types vision APIs take (the kernel checks the bytes again). */
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];

/** The image files among pasted or dropped items. */
export function imageFiles(items: DataTransfer | null): File[] {
  if (!items) {
    return [];
  }
  const files = Array.from(items.files ?? []);
  return files.filter(file => IMAGE_TYPES.includes(file.type));
}

interface IPending {
  gen: number;
  text: string;
  reasoning: string;
  stats: string;
}

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = '',
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/** JupyterLab's pipeline when the nbstream plugin offers it, else the bundled one. */
function pipeline(): { render: MarkdownRender; kind: 'jupyterlab' | 'standalone' } {
  const hook = findHook();
  return hook
    ? { render: hook.renderMarkdown, kind: 'jupyterlab' }
    : { render: standaloneMarkdown, kind: 'standalone' };
}

function render({ model, el }: { model: IWidgetModel; el: HTMLElement }): () => void {
  const { render: markdown, kind } = pipeline();
  const hook = findHook();
  const root = h('div', 'nbstream-chat');
  root.dataset.renderer = kind;
  const header = h('div', 'nbstream-chat-header');
  const modelButton = h('button', 'nbstream-chat-model');
  modelButton.type = 'button';
  const modelInput = h('input', 'nbstream-chat-model-input');
  modelInput.hidden = true;
  modelInput.setAttribute('data-lm-suppress-shortcuts', '');
  const liveStats = h('span', 'nbstream-chat-live-stats');
  const resetButton = h('button', 'nbstream-chat-reset', 'New chat');
  resetButton.type = 'button';
  header.append(modelButton, modelInput, liveStats, resetButton);
  const list = h('div', 'nbstream-chat-messages');
  const notice = h('div', 'nbstream-chat-notice');
  const form = h('div', 'nbstream-chat-form');
  const input = h('textarea', 'nbstream-chat-input');
  input.rows = 2;
  input.placeholder = 'Ask something — Enter sends, Shift+Enter for a new line';
  input.setAttribute('data-lm-suppress-shortcuts', '');
  const sendButton = h('button', 'nbstream-chat-send', 'Send');
  sendButton.type = 'button';
  const stopButton = h('button', 'nbstream-chat-stop', 'Stop');
  stopButton.type = 'button';
  const attached = h('div', 'nbstream-chat-attachments');
  form.append(input, sendButton, stopButton);
  root.append(header, list, notice, attached, form);
  el.append(root);

  const copy = (text: string): Promise<boolean> => copyText(text);
  const insertBelow = hook ? (node: HTMLElement, code: string) => hook.insertBelow(node, code) : undefined;
  const finishedActions: IAnswerActions = { copy, insertBelow };
  const liveActions: IAnswerActions = {
    copy,
    insertBelow,
    isRunning: () => Boolean(model.get('busy')),
    stop: () => model.send({ type: 'stop' })
  };

  let pending: IPending = { gen: -1, text: '', reasoning: '', stats: '' };
  let live: IMessage | null = null;
  let messages: { key: string; message: IMessage }[] = [];
  let frame = 0;

  const nearBottom = (): boolean => list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const scroll = (stick: boolean): void => {
    if (stick) {
      list.scrollTop = list.scrollHeight;
    }
  };

  const drawPending = (): void => {
    frame = 0;
    const stick = nearBottom();
    const busy = model.get('busy') && pending.gen === model.get('generation');
    if (!busy) {
      live?.node.remove();
      live = null;
      liveStats.textContent = '';
      return;
    }
    if (!live) {
      live = assistantMessage(markdown, liveActions);
      live.node.classList.add('nbstream-chat-pending');
      live.node.dataset.status = 'streaming';
    }
    if (live.node.parentElement !== list || list.lastElementChild !== live.node) {
      list.append(live.node);
    }
    const payload: IPayload = {
      text: pending.text,
      reasoning: pending.reasoning,
      status: 'streaming',
      format: 'markdown',
      status_line: pending.stats
    };
    liveStats.textContent = pending.stats;
    void live.view?.show(payload).then(() => scroll(stick));
  };
  const schedule = (): void => {
    if (!frame) {
      frame = requestAnimationFrame(drawPending);
    }
  };

  /** Finished messages: unchanged ones keep their nodes; the live one becomes the last. */
  const drawTurns = (): void => {
    const stick = nearBottom();
    const turns = (model.get('turns') ?? []) as ITurn[];
    const next: { key: string; message: IMessage }[] = [];
    turns.forEach((turn, i) => {
      const key = JSON.stringify(turn);
      const old = messages[i];
      if (old && old.key === key) {
        next.push(old);
        return;
      }
      if (live && turn.role === 'assistant' && i === turns.length - 1) {
        // The answer that was streaming has ended: the same view shows it final.
        const adopted = live;
        live = null;
        adopted.node.classList.remove('nbstream-chat-pending');
        adopted.node.dataset.status = turn.status ?? 'done';
        adopted.view?.setActions(finishedActions);
        void adopted.view?.show(turnPayload(turn));
        next.push({ key, message: adopted });
        return;
      }
      next.push({ key, message: turnMessage(turn, markdown, finishedActions, true) });
    });
    for (const old of messages.slice(turns.length)) {
      if (!next.includes(old)) {
        old.message.node.remove();
      }
    }
    messages = next;
    list.replaceChildren(...messages.map(m => m.message.node), ...(live ? [live.node] : []));
    scroll(stick || true);
  };

  const drawState = (): void => {
    const busy = Boolean(model.get('busy'));
    modelButton.textContent = model.get('model_label') || model.get('model');
    modelButton.title = `${model.get('model')} — click to change the model`;
    root.dataset.busy = busy ? 'true' : 'false';
    sendButton.disabled = busy;
    stopButton.disabled = !busy;
    notice.textContent = model.get('notice');
    if (busy && pending.gen !== model.get('generation')) {
      pending = {
        gen: model.get('generation'),
        text: '',
        reasoning: '',
        stats: `● waiting · ${model.get('model_label')}`
      };
    }
    schedule();
  };

  const onCustom = (msg: any): void => {
    if (!msg || typeof msg !== 'object') {
      return;
    }
    if (msg.type === 'delta') {
      if (msg.gen !== pending.gen) {
        pending = { gen: msg.gen, text: '', reasoning: '', stats: '' };
      }
      pending.text += msg.text ?? '';
      if (msg.reasoning) {
        pending.reasoning += msg.reasoning;
      }
      pending.stats = msg.stats ?? '';
    } else if (msg.type === 'snapshot') {
      pending = {
        gen: msg.gen,
        text: msg.text ?? '',
        reasoning: msg.reasoning ?? '',
        stats: msg.stats ?? ''
      };
    } else {
      return;
    }
    schedule();
  };

  let attachments: IAttachment[] = [];
  const drawAttachments = (): void => {
    attached.replaceChildren(
      ...attachments.map((attachment, index) => {
        const item = h('span', 'nbstream-chat-attachment');
        const img = h('img', 'nbstream-chat-thumb');
        img.src = attachment.url;
        img.alt = `pasted image ${index + 1}`;
        const remove = h('button', 'nbstream-chat-unattach', '×');
        remove.type = 'button';
        remove.title = 'Remove this image';
        remove.addEventListener('click', () => {
          URL.revokeObjectURL(attachment.url);
          attachments = attachments.filter(a => a !== attachment);
          drawAttachments();
        });
        item.append(img, remove);
        return item;
      })
    );
  };
  const attach = (files: File[]): void => {
    for (const file of files) {
      attachments.push({ file, mime: file.type, url: URL.createObjectURL(file) });
    }
    drawAttachments();
  };
  const clearAttachments = (): void => {
    for (const attachment of attachments) {
      URL.revokeObjectURL(attachment.url);
    }
    attachments = [];
    drawAttachments();
  };

  const submit = async (): Promise<void> => {
    const text = input.value;
    if ((!text.trim() && !attachments.length) || model.get('busy')) {
      return;
    }
    const sending = attachments;
    const buffers = await Promise.all(sending.map(a => a.file.arrayBuffer()));
    const images = sending.map(a => ({ mime: a.mime }));
    if (buffers.length) {
      model.send({ type: 'send', text, images }, undefined, buffers);
    } else {
      model.send({ type: 'send', text });
    }
    input.value = '';
    clearAttachments();
  };
  input.addEventListener('paste', event => {
    const files = imageFiles(event.clipboardData);
    if (files.length) {
      event.preventDefault(); // the picture, not its file name, is what was pasted
      attach(files);
    }
  });
  root.addEventListener('dragover', event => {
    if (event.dataTransfer && Array.from(event.dataTransfer.types).includes('Files')) {
      event.preventDefault(); // allows the drop
      event.dataTransfer.dropEffect = 'copy';
    }
  });
  root.addEventListener('drop', event => {
    const files = imageFiles(event.dataTransfer);
    if (files.length) {
      event.preventDefault();
      event.stopPropagation(); // JupyterLab would open a dropped file
      attach(files);
    }
  });
  input.addEventListener('keydown', event => {
    event.stopPropagation();
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      void submit();
    }
  });
  sendButton.addEventListener('click', () => void submit());
  stopButton.addEventListener('click', () => model.send({ type: 'stop' }));
  resetButton.addEventListener('click', () => model.send({ type: 'reset' }));
  modelButton.addEventListener('click', () => {
    modelInput.value = model.get('model');
    modelButton.hidden = true;
    modelInput.hidden = false;
    modelInput.focus();
  });
  const closeModelInput = (): void => {
    modelInput.hidden = true;
    modelButton.hidden = false;
  };
  modelInput.addEventListener('keydown', event => {
    event.stopPropagation();
    if (event.key === 'Enter') {
      event.preventDefault();
      const wanted = modelInput.value.trim();
      if (wanted && wanted !== model.get('model')) {
        model.send({ type: 'model', model: wanted });
      }
      closeModelInput();
    } else if (event.key === 'Escape') {
      closeModelInput();
    }
  });
  modelInput.addEventListener('blur', closeModelInput);

  // One list for on() and off(), so the cleanup cannot miss a listener.
  const listeners: [string, (...args: any[]) => void][] = [
    ['msg:custom', onCustom],
    ['change:turns', drawTurns],
    ['change:busy', drawState],
    ['change:generation', drawState],
    ['change:notice', drawState],
    ['change:model', drawState],
    ['change:model_label', drawState]
  ];
  for (const [name, handler] of listeners) {
    model.on(name, handler);
  }
  drawState();
  drawTurns();
  if (model.get('busy')) {
    model.send({ type: 'hello' });
  }

  return () => {
    if (frame) {
      cancelAnimationFrame(frame);
    }
    clearAttachments();
    for (const [name, handler] of listeners) {
      model.off(name, handler);
    }
  };
}

/**
 * Loading this script offers the view of a live cell's answer to the small widgets that
 * stream cells where nbstream's extension is absent (`answerhost.ts`): the kernel sends
 * this script once per kernel for that, and a chat's own copy does the same.
 */
function initialize(): void {
  registerAnswerHost();
}

export default { initialize, render };
