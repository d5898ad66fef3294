/**
 * An interruption the user asked for is a notice, not an error. nbstream ends a stopped
 * cell by raising `Interrupted` (a `KeyboardInterrupt`, so that *Run All* stops there as
 * with Ctrl-C); the kernel reports it as an error output, which JupyterLab draws as
 * stderr in a pink box, like a crash. This renderer takes over JupyterLab's stderr
 * renderer and changes only that case: an error output whose `ename` is `Interrupted`
 * and whose traceback is nbstream's single line shows as one calm line; every other
 * stderr or error output is rendered exactly as before (this is JupyterLab's own error
 * renderer).
 */

import { IOutputModel, RenderedError } from '@jupyterlab/rendermime';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';

export const STDERR_MIME_TYPE = 'application/vnd.jupyter.stderr';

/** nbstream's line (`nbstream/_exceptions.py`), with or without its ANSI colour. */
const LINE = /^(?:\x1b\[[\d;]*m)?Interrupted(?:\x1b\[[\d;]*m)?: (.*)$/s;

/** The message of nbstream's `Interrupted`, if `model` is that error output. */
export function interruption(model: IRenderMime.IMimeModel): string | null {
  const json = (model as Partial<IOutputModel>).toJSON?.() as
    | { output_type?: string; ename?: string; evalue?: string; traceback?: string[] }
    | undefined;
  if (json?.output_type !== 'error' || json.ename !== 'Interrupted') {
    return null;
  }
  const traceback = json.traceback ?? [];
  const match = traceback.length === 1 ? LINE.exec(traceback[0]) : null;
  return match ? match[1] : null;
}

export class NoticeRenderer extends RenderedError {
  async render(model: IRenderMime.IMimeModel): Promise<void> {
    const message = interruption(model);
    this.toggleClass('jp-nbstream-notice', message !== null);
    if (message === null) {
      return super.render(model);
    }
    const line = document.createElement('div');
    line.className = 'jp-nbstream-notice-line';
    line.textContent = `■ ${message}`;
    this.node.replaceChildren(line);
  }
}
