/**
 * The saved chat: `application/vnd.nbstream.transcript.v1+json`, written by the chat
 * widget (`nbstream/_chat_transcript.py`) as a second output right under the widget,
 * and replaced each time an answer ends.
 *
 * A widget is only a reference to state in a kernel: reopened without one, JupyterLab
 * shows "Error displaying widget: model not found" where it was. So the transcript is
 * shown in its place: the same messages as the chat (each answer through the same
 * streaming answer view and the same untrusted rendering as a cell's answer), read-only.
 * While the live widget is on screen right above it, the transcript hides itself; while
 * it is not, the widget output above (loading, or its error) is hidden instead, so the
 * user sees the conversation first. Both are decided from what the output area shows,
 * and decided again whenever it changes (the kernel comes back, the widget loads).
 */

import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import { IAnswerActions } from './answer';
import { ITurn, turnMessage } from './conversation';
import { MarkdownRender } from './live';
import { labMarkdown } from './render';
import { contextOf } from './widget';

export const TRANSCRIPT_MIME_TYPE = 'application/vnd.nbstream.transcript.v1+json';

/** The payload: the model's short name and the finished messages. */
export interface ITranscript {
  model?: string;
  turns?: ITurn[];
}

const HIDDEN = 'jp-nbstream-hidden';
const LIVE_CHAT = '.nbstream-chat:not(.nbstream-chat-transcript)';
const CHILD = '.jp-OutputArea-child';

export class TranscriptRenderer extends Widget implements IRenderMime.IRenderer {
  constructor(options: IRenderMime.IRendererOptions, actions: IAnswerActions) {
    super();
    this.addClass('jp-nbstream-transcript');
    this._render = labMarkdown(contextOf(options));
    this._actions = { copy: actions.copy, insertBelow: actions.insertBelow };
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const payload = (model.data[TRANSCRIPT_MIME_TYPE] ?? {}) as ITranscript;
    const turns = payload.turns ?? [];
    const root = document.createElement('div');
    root.className = 'nbstream-chat nbstream-chat-transcript';
    root.dataset.renderer = 'jupyterlab';
    const header = document.createElement('div');
    header.className = 'nbstream-chat-header';
    const name = document.createElement('span');
    name.className = 'nbstream-chat-model';
    name.textContent = payload.model ?? '';
    const note = document.createElement('span');
    note.className = 'nbstream-chat-live-stats';
    const count = `${turns.length} ${turns.length === 1 ? 'message' : 'messages'}`;
    note.textContent = `saved conversation · ${count} · run the cell to chat again`;
    header.append(name, note);
    const list = document.createElement('div');
    list.className = 'nbstream-chat-messages';
    for (const turn of turns) {
      list.append(turnMessage(turn, this._render, this._actions).node);
    }
    root.append(header, list);
    this.node.replaceChildren(root);
    this._place();
  }

  protected onAfterAttach(): void {
    const area = this.node.closest(CHILD)?.parentElement;
    if (area) {
      this._observer = new MutationObserver(() => this._place());
      this._observer.observe(area, { childList: true, subtree: true });
    }
    this._place();
  }

  protected onBeforeDetach(): void {
    this._observer?.disconnect();
    this._observer = null;
  }

  /** Show either the live widget above or this transcript, never both or neither. */
  private _place(): void {
    const child = this.node.closest(CHILD);
    const widget = child?.previousElementSibling;
    if (!child || !widget?.matches(CHILD)) {
      return;
    }
    const live = widget.querySelector(LIVE_CHAT) !== null;
    toggle(child, live);
    toggle(widget, !live && isWidgetOutput(widget));
  }

  private _render: MarkdownRender;
  private _actions: IAnswerActions;
  private _observer: MutationObserver | null = null;
}

function toggle(element: Element, hidden: boolean): void {
  if (element.classList.contains(HIDDEN) !== hidden) {
    element.classList.toggle(HIDDEN, hidden);
  }
}

/**
 * A widget output (loading, failed, or another widget): not text or an image. In an
 * untrusted notebook JupyterLab does not render widgets at all but the bundle's text,
 * the chat's repr at display time (`Chat(model='…', messages=0)`, `chat_repr` in
 * `nbstream/chat/_transcript.py`), which would contradict the conversation under it.
 */
function isWidgetOutput(child: Element): boolean {
  const output = child.querySelector('.jp-OutputArea-output');
  if (!output) {
    return false;
  }
  const text = output.textContent ?? '';
  return (
    output.classList.contains('jupyter-widgets') ||
    output.querySelector('.jupyter-widgets') !== null ||
    /^(Loading widget|Error displaying widget|Chat\(model=)/.test(text.trim())
  );
}
