/**
 * A live cell where nbstream's extension is absent but Jupyter widgets run (VS Code,
 * Colab, JupyterLab or Notebook 7 with ipywidgets only): the browser's half of
 * `nbstream/_widgethost.py`.
 *
 * The chat widget's script registers this host when it is loaded (`chat.ts`'s
 * `initialize`; the kernel sends that script once per kernel, as a widget it never
 * displays). Each answer is then a small widget (`loader.ts`) whose `payload` is the
 * answer so far (with `stream`: its id) and whose custom messages are deltas, exactly as
 * the extension's comm carries them (`streams.ts`). It is shown by the same streaming
 * answer view as the cell and the chat (`answer.ts`), with the Markdown pipeline of the
 * chat: JupyterLab's when the extension offers it, else the bundled one. The final answer
 * arrives as the ordinary bundle, which replaces this widget's view in the output.
 *
 * Stop interrupts the kernel, as the extension's Stop does, through the widget manager's
 * kernel connection where the host has one (JupyterLab, Notebook 7). Where it has none
 * the view has no Stop (the host's own interrupt does the same): a message on the
 * widget would reach the kernel only after the cell ends.
 */

import { AnswerView, IAnswerActions, IPayload } from './answer';
import { copyText } from './clipboard';
import { findHook } from './hook';
import { IAnswerHost, IHostModel, setAnswerHost } from './hostkey';
import { standaloneMarkdown } from './standalone';
import { IDelta, LiveStreams, withDeltas } from './streams';

const streams = new LiveStreams();

function payloadOf(model: IHostModel): IPayload {
  return (model.get('payload') ?? {}) as IPayload;
}

/** How to interrupt the kernel from `model`'s widget manager, if the host allows it. */
export function interrupter(model: IHostModel): (() => void) | undefined {
  const manager = model.widget_manager as { kernel?: { interrupt?: () => Promise<void> } };
  const kernel = manager?.kernel;
  if (kernel && typeof kernel.interrupt === 'function') {
    return () => void kernel.interrupt?.();
  }
  return undefined;
}

export const ANSWER_HOST: IAnswerHost = {
  version: 1,
  follow(model, queued) {
    const payload = payloadOf(model);
    const id = payload.stream;
    if (!id) {
      return;
    }
    streams.open(id);
    const keep = streams.subscribe(id, payload, () => undefined);
    const apply = (message: unknown): void => streams.apply(id, message as IDelta);
    queued.forEach(apply);
    model.on('msg:custom', apply);
    model.on('comm:close', () => {
      model.off('msg:custom', apply);
      keep();
      streams.close(id);
    });
  },
  render({ model, el }) {
    const payload = payloadOf(model);
    const hook = findHook();
    let running = payload.status === 'streaming';
    const actions: IAnswerActions = {
      copy: copyText,
      isRunning: () => running,
      stop: interrupter(model)
    };
    const node = document.createElement('div');
    node.classList.add('jp-nbstream-answer', 'nbstream-widget-answer');
    el.append(node);
    const view = new AnswerView(hook ? hook.renderMarkdown : standaloneMarkdown, actions, node);
    const id = payload.stream;
    const unfollow = id
      ? streams.subscribe(id, payload, state => void view.show(withDeltas(payload, state)))
      : () => undefined;
    const state = id ? streams.state(id) : undefined;
    void view.show(state ? withDeltas(payload, state) : payload);
    const closed = (): void => {
      running = false;
    };
    model.on('comm:close', closed);
    return () => {
      unfollow();
      model.off('comm:close', closed);
    };
  }
};

/** Offer the host to the answers' widgets (once per page; the first one stays). */
export function registerAnswerHost(): void {
  setAnswerHost(ANSWER_HOST);
}
