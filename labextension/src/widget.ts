/**
 * The renderer for `application/vnd.nbstream.v1+json`: reasoning (collapsed), the answer
 * as live Markdown, then one row with the status line and the Stop / Copy buttons; each
 * code block gets Insert below and Copy.
 *
 * JupyterLab calls `renderModel()` again on the same instance for every
 * `update_display_data`, so the widget keeps its nodes (and the `LiveMarkdown` blocks)
 * between updates. Updates can arrive faster than a render finishes: only the newest
 * payload is rendered, one render at a time, and every caller's promise resolves once
 * a render that includes its payload is on screen.
 *
 * What the buttons do to the notebook is not known here: an `IAnswerActions` is passed
 * in by the plugin (and by the unit tests), so this module needs no notebook.
 */

import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { addBelowIcon, copyIcon, LabIcon, stopIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { LiveMarkdown, MarkdownContext } from './live';
import { answerSource } from './markdown';

export const MIME_TYPE = 'application/vnd.nbstream.v1+json';

/** The payload written by `nbstream/_bundle.py` (a `Response` plus two fields). */
export interface IPayload {
  text?: string;
  reasoning?: string;
  status?: 'streaming' | 'done' | 'interrupted' | 'error';
  error?: string | null;
  format?: string;
  status_line?: string;
  model?: string;
}

/** What the buttons do, given the renderer's node (to find its cell). */
export interface IAnswerActions {
  /** Whether the cell showing `node` is running now (so Stop makes sense). */
  isRunning(node: HTMLElement): boolean;
  /** Interrupt the kernel that runs the cell showing `node`. */
  stop(node: HTMLElement): void;
  /** A new code cell with `code` under the cell showing `node`. */
  insertBelow(node: HTMLElement, code: string): void;
  copy(text: string): void;
}

function button(icon: LabIcon, label: string, onClick: () => void): HTMLButtonElement {
  const node = document.createElement('button');
  node.type = 'button';
  node.className = 'jp-Button jp-mod-minimal jp-nbstream-button';
  node.title = label;
  node.append(icon.element({ tag: 'span', className: 'jp-nbstream-icon' }), label);
  node.addEventListener('click', event => {
    event.preventDefault();
    event.stopPropagation();
    onClick();
  });
  return node;
}

export class AnswerRenderer extends Widget implements IRenderMime.IRenderer {
  constructor(options: IRenderMime.IRendererOptions, actions: IAnswerActions) {
    super();
    this.addClass('jp-nbstream-answer');
    this._actions = actions;
    const context: MarkdownContext = {
      sanitizer: options.sanitizer,
      resolver: options.resolver,
      linkHandler: options.linkHandler,
      latexTypesetter: options.latexTypesetter,
      markdownParser: options.markdownParser ?? null,
      translator: options.translator
    };
    this._reasoning = document.createElement('details');
    this._reasoning.className = 'jp-nbstream-reasoning';
    this._summary = document.createElement('summary');
    this._reasoningText = new LiveMarkdown(context);
    this._reasoning.append(this._summary, this._reasoningText.node);
    this._answer = new LiveMarkdown(context, block => this._decorateCode(block));
    this._status = document.createElement('span');
    this._status.className = 'jp-nbstream-status';
    this._stop = button(stopIcon, 'Stop', () => this._actions.stop(this.node));
    this._stop.classList.add('jp-nbstream-stop');
    const copy = button(copyIcon, 'Copy', () => this._actions.copy(this._payload.text ?? ''));
    copy.classList.add('jp-nbstream-copy');
    const footer = document.createElement('div');
    footer.className = 'jp-nbstream-footer';
    footer.append(this._status, this._stop, copy);
    this.node.append(this._reasoning, this._answer.node, footer);
  }

  /** The answer's Markdown blocks (tests check that stable ones are kept). */
  get answer(): LiveMarkdown {
    return this._answer;
  }

  renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this._payload = (model.data[MIME_TYPE] ?? {}) as IPayload;
    return this._schedule();
  }

  protected onAfterAttach(): void {
    // A notebook saved mid-stream: nothing is streaming any more, so no cursor or Stop.
    if (this._payload.status === 'streaming' && !this._actions.isRunning(this.node)) {
      this._stale = true;
      void this._schedule();
    }
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
    await this._answer.update(answerSource(text, payload.format ?? 'markdown'), live);
    const state = this._stale ? 'stale' : status;
    this.node.dataset.status = state;
    let line = payload.status_line ?? status;
    if (status === 'error' && payload.error) {
      line += ` — ${payload.error}`;
    }
    this._status.textContent = line;
    this._status.className = `jp-nbstream-status jp-nbstream-status-${state}`;
    this._stop.hidden = !live;
  }

  /** Insert below and Copy on each code block (added after sanitizing: our own DOM). */
  private _decorateCode(host: HTMLElement): void {
    host.querySelectorAll('pre').forEach(pre => {
      const source = pre.querySelector('code') ?? pre;
      const code = (): string => source.textContent?.replace(/\n$/, '') ?? '';
      const bar = document.createElement('span');
      bar.className = 'jp-nbstream-codebar';
      const insert = button(addBelowIcon, 'Insert below', () =>
        this._actions.insertBelow(this.node, code())
      );
      insert.classList.add('jp-nbstream-insert');
      const copy = button(copyIcon, 'Copy', () => this._actions.copy(code()));
      copy.classList.add('jp-nbstream-copy-code');
      bar.append(insert, copy);
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
  private _answer: LiveMarkdown;
  private _status: HTMLElement;
  private _stop: HTMLButtonElement;
}
