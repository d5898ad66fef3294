/** The answer every "renders the same" test uses, and how to compare two renderings. */

export const SAME_ANSWER = [
  '## Results',
  '',
  '| model | score |',
  '|:------|------:|',
  '| tiny  | 0.5   |',
  '| big   | 0.9   |',
  '',
  'Inline math $e^{i\\pi} + 1 = 0$ and display:',
  '',
  '$$\\int_0^1 x^2\\,dx = \\frac{1}{3}$$',
  '',
  '```python',
  'def f(x):',
  '    return x < 1',
  '```',
  '',
  '1. first',
  '   - nested *one*',
  '   - nested **two**',
  '2. second',
  '',
  '> a quote with `code`',
  '',
  'See [the docs](https://example.org/docs) or [mail](mailto:a@example.org).',
  '',
  'Injected: <img src=x onerror="window.__nbstreamPwned=1"> <script>window.__nbstreamPwned=2</script>',
  '[click](javascript:window.__nbstreamPwned=3) ![remote](http://127.0.0.1:9/leak.png?d=secret)'
].join('\n');

/** Tag names and the text/attributes that matter, in document order, math left out. */
export function structure(root: Element): string[] {
  const out: string[] = [];
  const walk = (node: Element): void => {
    for (const child of Array.from(node.children)) {
      const tag = child.localName;
      const katex = (e: Element | null): boolean =>
        !!e && (e.classList.contains('katex') || e.classList.contains('katex-display'));
      const math =
        /^mjx-/.test(tag) ||
        katex(child) ||
        (tag === 'span' && child.children.length === 1 && katex(child.firstElementChild));
      if (math || child.classList.contains('jp-nbstream-codebar')) {
        out.push('MATH-OR-BAR');
        continue;
      }
      const href = child.getAttribute('href');
      out.push(href !== null ? `${tag} ${href}` : tag);
      walk(child);
    }
  };
  walk(root);
  return out;
}
