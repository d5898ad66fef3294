/**
 * The chat's Markdown outside JupyterLab (marked + DOMPurify + KaTeX + the policy) gives
 * the same elements as JupyterLab's pipeline does for the same answer.
 */

import { Sanitizer } from '@jupyterlab/apputils';
import { marked } from 'marked';

import { labMarkdown } from '../render';
import { standaloneMarkdown } from '../standalone';
import { SAME_ANSWER, structure } from './same';

async function rendered(render: (host: HTMLElement, source: string) => Promise<void>): Promise<HTMLElement> {
  const host = document.createElement('div');
  document.body.append(host);
  await render(host, SAME_ANSWER);
  return host;
}

describe('the standalone pipeline', () => {
  it('renders tables, math, code, lists, quotes and links; no injected HTML survives', async () => {
    const host = await rendered(standaloneMarkdown);
    expect(host.querySelectorAll('table tr')).toHaveLength(3);
    expect(host.querySelector('th')?.getAttribute('align')).toBe('left');
    expect(host.querySelectorAll('.katex')).toHaveLength(2);
    expect(host.querySelectorAll('.katex-display')).toHaveLength(1);
    expect(host.querySelector('pre code.language-python')?.textContent).toContain('return x < 1');
    expect(host.querySelectorAll('ol > li > ul > li')).toHaveLength(2);
    expect(host.querySelector('blockquote code')?.textContent).toBe('code');
    expect(host.querySelector('a[href="https://example.org/docs"]')?.getAttribute('target')).toBe('_blank');
    expect(host.querySelector('script, img, [onerror]')).toBeNull();
    expect(host.querySelector('a[href^="javascript"]')).toBeNull();
    expect(host.textContent).toContain('click');
    expect(host.querySelector('a.jp-nbstream-image')?.getAttribute('href')).toBe(
      'http://127.0.0.1:9/leak.png?d=secret'
    );
  });

  it('gives the same elements as JupyterLab\'s pipeline (marked, its sanitizer, the policy)', async () => {
    const lab = labMarkdown({
      sanitizer: new Sanitizer(),
      resolver: null,
      linkHandler: null,
      latexTypesetter: null,
      markdownParser: { render: async (source: string) => marked.parse(source, { gfm: true }) }
    });
    const ours = structure(await rendered(standaloneMarkdown));
    const theirs = structure(await rendered(lab)).filter(tag => !tag.startsWith('a #'));
    // Math is typeset by KaTeX here and by MathJax in JupyterLab: compared elsewhere.
    expect(ours.filter(t => t !== 'MATH-OR-BAR')).toEqual(theirs);
  });
});
