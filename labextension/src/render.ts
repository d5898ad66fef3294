/**
 * How one block of Markdown becomes DOM. The streaming view (`live.ts`) only needs a
 * function `(host, source) => Promise<void>`; there are two of them, and both end in
 * the same policy (`policy.ts`), so a model's answer is treated alike everywhere:
 *
 * - inside JupyterLab / Notebook 7 (`labMarkdown`, here): JupyterLab's own
 *   `renderMarkdown` — its Markdown parser, its sanitizer, its math typesetter — so an
 *   answer looks exactly like any Markdown output. Always `trusted: false`, whatever
 *   the notebook's trust, and the sanitizer is wrapped so that the policy runs on its
 *   output before the HTML is put into the page.
 * - without JupyterLab (VS Code, Colab: the chat widget on its own), `standalone.ts`.
 */

import { renderMarkdown } from '@jupyterlab/rendermime';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';

import { enforcePolicy } from './policy';
import { MarkdownRender } from './live';

export { MarkdownRender } from './live';

/** What `renderMarkdown` needs besides the text: from a renderer's options or registry. */
export type MarkdownContext = Omit<
  renderMarkdown.IRenderOptions,
  'host' | 'source' | 'trusted' | 'shouldTypeset'
>;

/** The sanitizer, then the policy: what JupyterLab puts into the page for an answer. */
export function policySanitizer(inner: IRenderMime.ISanitizer): IRenderMime.ISanitizer {
  return {
    sanitize: (dirty, options) => enforcePolicy(inner.sanitize(dirty, options)),
    getAutolink: () => inner.getAutolink?.() ?? true,
    allowNamedProperties: false
  };
}

/** JupyterLab's Markdown pipeline, untrusted, with the policy. */
export function labMarkdown(context: MarkdownContext): MarkdownRender {
  const sanitizer = policySanitizer(context.sanitizer);
  return (host, source) =>
    renderMarkdown({
      ...context,
      sanitizer,
      // Model text never names notebook files: nothing to resolve, nothing to fetch.
      resolver: null,
      host,
      source,
      trusted: false,
      shouldTypeset: true
    });
}
