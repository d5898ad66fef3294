/**
 * The policy applied to every model answer after the sanitizer: no URL is fetched, links
 * only http(s)/mailto, nothing that styles or names the page.
 */

import { enforcePolicy, isSafeLink } from '../policy';

function tree(html: string): HTMLElement {
  const div = document.createElement('div');
  div.innerHTML = enforcePolicy(html);
  return div;
}

describe('enforcePolicy', () => {
  it('keeps http(s) and mailto links, opening in a new tab without referrer', () => {
    const node = tree('<a href="https://example.org/x">x</a> <a href="MAILTO:a@b.c">m</a>');
    const links = node.querySelectorAll('a');
    expect(links).toHaveLength(2);
    expect(links[0].getAttribute('href')).toBe('https://example.org/x');
    expect(links[0].getAttribute('target')).toBe('_blank');
    expect(links[0].getAttribute('rel')).toBe('noopener noreferrer nofollow');
  });

  it.each([
    'javascript:alert(1)',
    ' javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'vbscript:x',
    'file:///etc/passwd',
    'relative/path.ipynb',
    '#anchor',
    '//evil.example/x'
  ])('turns a link to %j into its text', href => {
    const node = tree(`<p>see <a href="${href.replace(/"/g, '&quot;')}">the <b>label</b></a></p>`);
    expect(node.querySelector('a')).toBeNull();
    expect(node.textContent).toBe('see the label');
    expect(node.querySelector('b')?.textContent).toBe('label');
  });

  it('never leaves an image to load: a remote one becomes a link to it', () => {
    const node = tree('<p><img src="http://127.0.0.1:9/leak?d=secret" alt="chart"></p>');
    expect(node.querySelector('img')).toBeNull();
    const link = node.querySelector('a.jp-nbstream-image');
    expect(link?.getAttribute('href')).toBe('http://127.0.0.1:9/leak?d=secret');
    expect(link?.textContent).toBe('🖼 chart');
  });

  it('shows other images as text, keeps data: images (already in the page)', () => {
    const node = tree('<img src="x" onerror="alert(1)"><img src="data:image/png;base64,AAAA" alt="d">');
    expect(node.querySelector('span.jp-nbstream-image')?.textContent).toBe('🖼 image');
    expect(node.querySelectorAll('img')).toHaveLength(1);
    expect(node.querySelector('img')?.getAttribute('src')).toMatch(/^data:image\/png/);
    expect(node.querySelector('[onerror]')).toBeNull();
  });

  it('drops what loads, runs or restyles, keeps the text of unknown tags', () => {
    const node = tree(
      '<p style="background:url(http://x/y)" id="main" class="jp-Dialog">a</p>' +
        '<script>b()</script><style>p{}</style><iframe src="http://x"></iframe>' +
        '<svg><image href="http://x/y"/></svg><video poster="http://x"></video>' +
        '<custom-tag>kept</custom-tag><input type="text" value="v"><form action="http://x">f</form>' +
        '<pre><code class="language-python">x</code></pre>'
    );
    const p = node.querySelector('p');
    expect(p?.getAttribute('style')).toBeNull();
    expect(p?.getAttribute('id')).toBeNull();
    expect(p?.getAttribute('class')).toBeNull();
    expect(node.querySelector('script, style, iframe, svg, video, input, form')).toBeNull();
    expect(node.textContent).toBe('akeptx');
    expect(node.querySelector('code')?.className).toBe('language-python');
  });

  it('names the safe link targets', () => {
    expect(isSafeLink('https://a')).toBe(true);
    expect(isSafeLink('mailto:a@b')).toBe(true);
    expect(isSafeLink('ftp://a')).toBe(false);
  });
});
