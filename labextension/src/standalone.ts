/**
 * Markdown for the chat widget where JupyterLab is not there to do it (VS Code, Colab):
 * the same steps as JupyterLab's `renderMarkdown`, with libraries bundled into the
 * widget's script (nothing is loaded from a CDN):
 *
 * - math is set aside first with JupyterLab's own `removeMath` / `replaceMath`, so the
 *   same `$…$`, `$$…$$`, `\(…\)`, `\[…\]` and `\begin{…}` are math in both places;
 * - marked (GitHub-flavoured, as JupyterLab configures it) turns the rest into HTML:
 *   the same parser JupyterLab uses, so tables, lists and code blocks come out as the
 *   same elements in a cell and in a chat outside JupyterLab;
 * - DOMPurify sanitizes it and `policy.ts` applies the same policy as inside JupyterLab
 *   (links only http(s)/mailto, no image or other URL is fetched);
 * - KaTeX typesets the math (fonts bundled into the CSS; `trust: false`, so `\href`
 *   and `\includegraphics` stay inert).
 */

import { removeMath, replaceMath } from '@jupyterlab/rendermime/lib/latex';
import DOMPurify from 'dompurify';
import renderMathInElement from 'katex/contrib/auto-render';
import { Marked } from 'marked';

import { enforcePolicy } from './policy';
import { MarkdownRender } from './live';

const marked = new Marked({ gfm: true, async: false });

/** The delimiters JupyterLab gives MathJax, in the order KaTeX must try them. */
const DELIMITERS = [
  { left: '$$', right: '$$', display: true },
  { left: '\\[', right: '\\]', display: true },
  { left: '\\(', right: '\\)', display: false },
  { left: '$', right: '$', display: false },
  ...['equation', 'equation*', 'align', 'align*', 'alignat', 'alignat*', 'gather', 'gather*', 'multline', 'multline*', 'CD'].map(env => ({
    left: `\\begin{${env}}`,
    right: `\\end{${env}}`,
    display: true
  }))
];

/** Markdown source → the HTML that goes into the page (sanitized, with the policy). */
export function standaloneHTML(source: string): string {
  const parts = removeMath(source);
  const html = replaceMath(marked.parse(parts.text) as string, parts.math);
  return enforcePolicy(DOMPurify.sanitize(html, { USE_PROFILES: { html: true } }));
}

/** The chat's Markdown outside JupyterLab. */
export const standaloneMarkdown: MarkdownRender = async (host, source) => {
  host.innerHTML = source ? standaloneHTML(source) : '';
  renderMathInElement(host, {
    delimiters: DELIMITERS,
    throwOnError: false,
    trust: false,
    ignoredClasses: ['jp-nbstream-codebar']
  });
};
