/**
 * The cell renderer for `application/vnd.nbstream.v1+json`: JupyterLab's renderer
 * interface around the streaming answer view (`answer.ts`), which the chat widget uses
 * too. JupyterLab calls `renderModel()` again on the same instance for every
 * `update_display_data`, so the view keeps its nodes (and its Markdown blocks) between
 * updates. A payload that names its answer (`stream`) is followed through its deltas
 * (`deltas.ts`) until the final bundle, which is shown as it is.
 */

import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import { AnswerView, IAnswerActions, IPayload } from './answer';
import { LiveStreams, STREAMS, withDeltas } from './streams';
import { LiveMarkdown } from './live';
import { labMarkdown, MarkdownContext } from './render';

export { IAnswerActions, IPayload } from './answer';

export const MIME_TYPE = 'application/vnd.nbstream.v1+json';

/** What JupyterLab's Markdown pipeline needs, from a renderer's options. */
export function contextOf(options: IRenderMime.IRendererOptions): MarkdownContext {
  return {
    sanitizer: options.sanitizer,
    resolver: options.resolver,
    linkHandler: options.linkHandler,
    latexTypesetter: options.latexTypesetter,
    markdownParser: options.markdownParser ?? null,
    translator: options.translator
  };
}

export class AnswerRenderer extends Widget implements IRenderMime.IRenderer {
  constructor(
    options: IRenderMime.IRendererOptions,
    actions: IAnswerActions,
    streams: LiveStreams = STREAMS
  ) {
    super();
    this._streams = streams;
    this.addClass('jp-nbstream-answer');
    this._actions = actions;
    this.view = new AnswerView(labMarkdown(contextOf(options)), actions, this.node);
  }

  readonly view: AnswerView;

  /** The answer's Markdown blocks (tests check that stable ones are kept). */
  get answer(): LiveMarkdown {
    return this.view.answer;
  }

  renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const payload = (model.data[MIME_TYPE] ?? {}) as IPayload;
    this._unfollow?.();
    this._unfollow = null;
    const id = payload.stream;
    if (id && payload.status === 'streaming') {
      this._unfollow = this._streams.subscribe(id, payload, state => {
        void this.view.show(withDeltas(payload, state));
      });
      const state = this._streams.state(id);
      return this.view.show(state ? withDeltas(payload, state) : payload);
    }
    return this.view.show(payload);
  }

  dispose(): void {
    this._unfollow?.();
    this._unfollow = null;
    super.dispose();
  }

  protected onAfterAttach(): void {
    // A notebook saved mid-stream: nothing is streaming any more, so no cursor or Stop.
    const running = this._actions.isRunning?.(this.node) ?? false;
    if (this.view.payload.status === 'streaming' && !running) {
      void this.view.markStale();
    }
  }

  private _actions: IAnswerActions;
  private _streams: LiveStreams;
  private _unfollow: (() => void) | null = null;
}
