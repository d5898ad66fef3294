/**
 * Stop is a notice, not an error: nbstream's `Interrupted` error output shows as one calm
 * line; every other error is JupyterLab's own rendering.
 */

import { Sanitizer } from '@jupyterlab/apputils';
import { OutputModel } from '@jupyterlab/rendermime';

import { interruption, NoticeRenderer, STDERR_MIME_TYPE } from '../notice';

const LINE = '\x1b[0;33mInterrupted\x1b[0m: Generation stopped after 12 tokens; the partial answer stays above and in _llm.';

function error(ename: string, traceback: string[]): OutputModel {
  return new OutputModel({
    value: { output_type: 'error', ename, evalue: 'x', traceback },
    trusted: false
  });
}

function renderer(): NoticeRenderer {
  return new NoticeRenderer({
    mimeType: STDERR_MIME_TYPE,
    sanitizer: new Sanitizer(),
    resolver: null,
    linkHandler: null,
    latexTypesetter: null
  });
}

describe('the Interrupted notice', () => {
  it('recognises only nbstream\'s one-line Interrupted error', () => {
    expect(interruption(error('Interrupted', [LINE]))).toMatch(/^Generation stopped after 12 tokens/);
    expect(interruption(error('Interrupted', ['Interrupted: plain']))).toBe('plain');
    expect(interruption(error('KeyboardInterrupt', [LINE]))).toBeNull();
    expect(interruption(error('Interrupted', [LINE, 'more']))).toBeNull();
  });

  it('draws one calm line instead of the red box, and other errors as before', async () => {
    const widget = renderer();
    await widget.renderModel(error('Interrupted', [LINE]));
    expect(widget.hasClass('jp-nbstream-notice')).toBe(true);
    expect(widget.node.textContent).toBe(
      '■ Generation stopped after 12 tokens; the partial answer stays above and in _llm.'
    );
    expect(widget.node.querySelector('pre')).toBeNull();
    await widget.renderModel(error('ValueError', ['\x1b[0;31mValueError\x1b[0m: bad']));
    expect(widget.hasClass('jp-nbstream-notice')).toBe(false);
    expect(widget.node.querySelector('pre')?.textContent).toBe('ValueError: bad');
  });
});
