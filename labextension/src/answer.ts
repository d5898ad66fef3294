/**
 * The streaming answer view: reasoning (collapsed), the answer as live Markdown, then one
 * row with the status line and the Stop / Copy buttons; each code block gets Insert
 * below and Copy. The cell renderer (`widget.ts`) and every assistant message of the
 * chat widget (`chat.ts`) are this view, so the two cannot look or behave differently.
 *
 * Updates can arrive faster than a render finishes: only the newest payload is
 * rendered, one render at a time, and every caller's promise resolves once a render
 * that includes its payload is on screen.
 *
 * What the buttons do is not known here: an `IAnswerActions` is passed in (the notebook
 * for a cell, the widget's model for a chat, recorded calls in the unit tests). A button
 * whose action is missing is not shown (no Insert below where there is no notebook).
 */

import { copyText } from './clipboard';
import { icon, IconName } from './icons';
import { LiveMarkdown, MarkdownRender } from './live';
import { answerSource } from './markdown';

/** The payload written by `nbstream/_bundle.py` (a `Response` plus two fields). */
export interface IPayload {
  text?: string;
  reasoning?: string;
  status?: 'streaming' | 'done' | 'interrupted' | 'error';
  error?: string | null;
  format?: string;
  status_line?: string;
  model?: string;
  /** While streaming with deltas: the answer's id, whose deltas follow (`deltas.ts`). */
  stream?: string;
}

/** What the buttons do, given the view's node (to find its cell). */
export interface IAnswerActions {
  /** Whether the answer shown in `node` is being generated now (so Stop makes sense). */
  isRunning?(node: HTMLElement): boolean;
  /** Stop the answer shown in `node`; no Stop button without it. */
  stop?(node: HTMLElement): void;
  /** A new code cell with `code` under the one showing `node`; no button without it. */
  insertBelow?(node: HTMLElement, code: string): boolean | void;
  /** Copy `text`; resolves to whether it worked (default: the system clipboard). */
  copy?(text: string): Promise<boolean> | boolean;
}

/** How long a button says "Copied" / "Inserted" before it reads as before. */
export const CONFIRM_MS = 1500;

export function button(
  name: IconName,
  label: string,
  onClick: () => Promise<boolean | void> | boolean | void
): HTMLButtonElement {
  const node = document.createElement('button');
  node.type = 'button';
  node.className = 'jp-Button jp-mod-minimal jp-nbstream-button';
  node.title = label;
  const text = document.createElement('span');
  text.className = 'jp-nbstream-label';
  text.textContent = label;
  node.append(icon(name), text);
  node.addEventListener('click', event => {
    event.preventDefault();
    event.stopPropagation();
    void Promise.resolve(onClick()).catch(() => false);
  });
  return node;
}

/** Say on `node` what just happened ("Copied"), for a moment. */
export function confirm(node: HTMLButtonElement, said: string, ok = true): void {
  const label = node.querySelector('.jp-nbstream-label');
  if (!label) {
    return;
  }
  const original = node.dataset.label ?? label.textContent ?? '';
  node.dataset.label = original;
  label.textContent = said;
  node.dataset.confirm = ok ? 'ok' : 'failed';
  const swap = node.querySelector('.jp-nbstream-icon');
  const was = swap?.cloneNode(true);
  if (ok && swap) {
    swap.replaceWith(icon('done'));
  }
  window.clearTimeout(Number(node.dataset.timer ?? 0));
  node.dataset.timer = String(
    window.setTimeout(() => {
      label.textContent = original;
      delete node.dataset.confirm;
      const shown = node.querySelector('.jp-nbstream-icon');
      if (ok && shown && was) {
        shown.replaceWith(was);
      }
    }, CONFIRM_MS)
  );
}

export class AnswerView {
  readonly node: HTMLElement;
  /** The answer's Markdown blocks (tests check that stable ones are kept). */
  readonly answer: LiveMarkdown;

  /** `node`: the element to build the view in (a renderer's own node), else a new one. */
  constructor(render: MarkdownRender, actions: IAnswerActions, node?: HTMLElement) {
    this.node = node ?? document.createElement('div');
    this.node.classList.add('jp-nbstream-view');
    this._actions = actions;
    this._reasoning = document.createElement('details');
    this._reasoning.className = 'jp-nbstream-reasoning';
    this._summary = document.createElement('summary');
    this._reasoningText = new LiveMarkdown(render);
    this._reasoning.append(this._summary, this._reasoningText.node);
    this.answer = new LiveMarkdown(render, block => this._decorateCode(block));
    this._status = document.createElement('span');
    this._status.className = 'jp-nbstream-status';
    this._stop = button('stop', 'Stop', () => this._actions.stop?.(this.node));
    this._stop.classList.add('jp-nbstream-stop');
    const copy = button('copy', 'Copy', () => this._copy(copy, this._payload.text ?? ''));
    copy.classList.add('jp-nbstream-copy');
    const footer = document.createElement('div');
    footer.className = 'jp-nbstream-footer';
    footer.append(this._status, this._stop, copy);
    this.node.append(this._reasoning, this.answer.node, footer);
  }

  /** Change what the buttons do (a chat's live answer, once finished, has no Stop). */
  setActions(actions: IAnswerActions): void {
    this._actions = actions;
  }

  /** The payload shown (or about to be). */
  get payload(): IPayload {
    return this._payload;
  }

  /** Show `payload`; resolves once it (or a newer one) is on screen. */
  show(payload: IPayload): Promise<void> {
    this._payload = payload;
    return this._schedule();
  }

  /**
   * The payload says "streaming" but nothing is (a notebook saved mid-answer, reopened):
   * show it as it is, without cursor or Stop.
   */
  markStale(): Promise<void> {
    this._stale = true;
    return this._schedule();
  }

  /** Render the current payload after the render under way, if any. */
  private _schedule(): Promise<void> {
    this._wanted++;
    if (!this._rendering) {
      this._rendering = this._renderLoop();
    }
    return this._rendering;
  }

  private async _renderLoop(): Promise<void> {
    try {
      while (this._done < this._wanted) {
        const target = this._wanted;
        await this._render(this._payload);
        this._done = target;
      }
    } finally {
      this._rendering = null;
    }
  }

  private async _render(payload: IPayload): Promise<void> {
    const status = payload.status ?? 'done';
    const live = status === 'streaming' && !this._stale;
    const text = payload.text ?? '';
    const reasoning = payload.reasoning ?? '';
    this._reasoning.hidden = !reasoning;
    this._summary.textContent = live && !text ? 'Thinking…' : 'Reasoning';
    if (reasoning) {
      await this._reasoningText.update(reasoning, live && !text);
    }
    await this.answer.update(answerSource(text, payload.format ?? 'markdown'), live);
    const state = this._stale ? 'stale' : status;
    this.node.dataset.status = state;
    let line = payload.status_line ?? status;
    if (status === 'error' && payload.error) {
      line += ` — ${payload.error}`;
    }
    this._status.textContent = line;
    this._status.className = `jp-nbstream-status jp-nbstream-status-${state}`;
    this._stop.hidden = !live || !this._actions.stop;
  }

  private async _copy(node: HTMLButtonElement, text: string): Promise<void> {
    const actions = this._actions;
    const copied = await (actions.copy ? actions.copy(text) : copyText(text));
    confirm(node, copied ? 'Copied' : 'Copy failed', copied);
  }

  /** Insert below and Copy on each code block (added after sanitizing: our own DOM). */
  private _decorateCode(host: HTMLElement): void {
    host.querySelectorAll('pre').forEach(pre => {
      const source = pre.querySelector('code') ?? pre;
      const code = (): string => source.textContent?.replace(/\n$/, '') ?? '';
      const bar = document.createElement('span');
      bar.className = 'jp-nbstream-codebar';
      if (this._actions.insertBelow) {
        const insert = button('insert', 'Insert below', () => {
          const done = this._actions.insertBelow?.(this.node, code()) !== false;
          confirm(insert, done ? 'Inserted' : 'No cell here', done);
        });
        insert.classList.add('jp-nbstream-insert');
        bar.append(insert);
      }
      const copy = button('copy', 'Copy', () => this._copy(copy, code()));
      copy.classList.add('jp-nbstream-copy-code');
      bar.append(copy);
      pre.classList.add('jp-nbstream-code');
      pre.prepend(bar);
    });
  }

  private _actions: IAnswerActions;
  private _payload: IPayload = {};
  private _wanted = 0;
  private _done = 0;
  private _rendering: Promise<void> | null = null;
  private _stale = false;
  private _reasoning: HTMLDetailsElement;
  private _summary: HTMLElement;
  private _reasoningText: LiveMarkdown;
  private _status: HTMLElement;
  private _stop: HTMLButtonElement;
}
