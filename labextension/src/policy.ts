/**
 * What model-written HTML may become on screen, applied after the sanitizer (JupyterLab's
 * inside JupyterLab, DOMPurify elsewhere) and before anything reaches the page.
 *
 * A sanitizer removes scripts and event handlers, but still lets through things that
 * make the browser fetch a URL the model chose: `<img src>`, CSS `url()` in a `style`
 * attribute, relative links a notebook resolver turns into server requests. A model's
 * answer is untrusted, and an answer that makes the browser call
 * `http://host/leak?data=…` leaks whatever the model was shown. So this is an allowlist:
 *
 * - links keep only `http:`, `https:` and `mailto:` targets (others become their text)
 *   and always open in a new tab without a referrer;
 * - images are never loaded: an image becomes a link to its URL (`🖼 alt`), except
 *   `data:` images, which are already in the page;
 * - no `style`, `id` or `name` attribute (no CSS fetches, no DOM clobbering), classes
 *   only those the Markdown parser and code highlighter write;
 * - elements that load or run things are removed with their content; any other
 *   unknown element is replaced by its children.
 *
 * It works on an inert `<template>`: nothing in it is fetched while it is inspected.
 */

const REMOVE = new Set([
  'script', 'style', 'template', 'noscript', 'iframe', 'frame', 'frameset', 'object',
  'embed', 'applet', 'link', 'meta', 'base', 'title', 'head', 'audio', 'video', 'source',
  'track', 'picture', 'canvas', 'form', 'button', 'textarea', 'select', 'option', 'svg',
  'math', 'dialog', 'portal', 'slot'
]);

const KEEP = new Set([
  'a', 'abbr', 'b', 'bdi', 'bdo', 'blockquote', 'br', 'caption', 'cite', 'code', 'col',
  'colgroup', 'dd', 'del', 'details', 'dfn', 'div', 'dl', 'dt', 'em', 'figcaption',
  'figure', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'i', 'img', 'input', 'ins', 'kbd',
  'li', 'mark', 'ol', 'p', 'pre', 'q', 'rp', 'rt', 'ruby', 's', 'samp', 'small', 'span',
  'strike', 'strong', 'sub', 'summary', 'sup', 'table', 'tbody', 'td', 'tfoot', 'th',
  'thead', 'time', 'tr', 'tt', 'u', 'ul', 'var', 'wbr'
]);

const ATTRIBUTES: Record<string, string[]> = {
  '*': ['title', 'lang', 'dir', 'class'],
  a: ['href'],
  img: ['src', 'alt', 'width', 'height'],
  ol: ['start', 'reversed', 'type'],
  li: ['value'],
  td: ['align', 'colspan', 'rowspan'],
  th: ['align', 'colspan', 'rowspan', 'scope'],
  col: ['span'],
  colgroup: ['span'],
  details: ['open'],
  input: ['type', 'checked', 'disabled']
};

/** Classes written by marked (`language-x`) and by JupyterLab's code highlighting. */
const CLASS = /^(language-[\w+#.-]+|cm-[\w-]+|tok-[\w-]+|ͼ\w+)$/;

const LINK = /^(https?:|mailto:)/i;
const DATA_IMAGE = /^data:image\/(png|gif|jpeg|webp|svg\+xml)[;,]/i;

/** The class of an image that was not loaded (a link to it, or its text). */
export const IMAGE_CLASS = 'jp-nbstream-image';

/** Whether `url` may be a link target: `http(s)` or `mailto`, nothing relative. */
export function isSafeLink(url: string): boolean {
  return LINK.test(url.trim());
}

/** `html` with the policy applied (see the module comment). */
export function enforcePolicy(html: string): string {
  const template = document.createElement('template');
  template.innerHTML = html;
  applyPolicy(template.content);
  return template.innerHTML;
}

/** Apply the policy in place to an inert tree (a template's content). */
export function applyPolicy(root: DocumentFragment | Element): void {
  // Children first, from a snapshot: nodes are replaced while walking.
  for (const child of Array.from(root.children)) {
    applyPolicy(child);
    cleanElement(child);
  }
}

function cleanElement(element: Element): void {
  const tag = element.localName;
  if (REMOVE.has(tag)) {
    element.remove();
    return;
  }
  if (!KEEP.has(tag)) {
    element.replaceWith(...Array.from(element.childNodes));
    return;
  }
  const allowed = new Set([...ATTRIBUTES['*'], ...(ATTRIBUTES[tag] ?? [])]);
  for (const attribute of Array.from(element.attributes)) {
    if (!allowed.has(attribute.name)) {
      element.removeAttribute(attribute.name);
    }
  }
  const classes = Array.from(element.classList).filter(name => CLASS.test(name));
  if (classes.length) {
    element.className = classes.join(' ');
  } else {
    element.removeAttribute('class');
  }
  if (tag === 'a') {
    cleanLink(element as HTMLAnchorElement);
  } else if (tag === 'img') {
    cleanImage(element as HTMLImageElement);
  } else if (tag === 'input' && element.getAttribute('type') !== 'checkbox') {
    element.remove();
  } else if (tag === 'input') {
    element.setAttribute('disabled', '');
  }
}

function cleanLink(link: HTMLAnchorElement): void {
  const href = link.getAttribute('href');
  if (href === null || !isSafeLink(href)) {
    link.replaceWith(...Array.from(link.childNodes));
    return;
  }
  link.setAttribute('target', '_blank');
  link.setAttribute('rel', 'noopener noreferrer nofollow');
}

function cleanImage(image: HTMLImageElement): void {
  const src = (image.getAttribute('src') ?? '').trim();
  if (DATA_IMAGE.test(src)) {
    return;
  }
  const doc = image.ownerDocument;
  const alt = image.getAttribute('alt') ?? '';
  const label = `🖼 ${alt || 'image'}`;
  let stand: HTMLElement;
  if (isSafeLink(src) && !image.closest('a')) {
    stand = doc.createElement('a');
    stand.setAttribute('href', src);
    stand.setAttribute('target', '_blank');
    stand.setAttribute('rel', 'noopener noreferrer nofollow');
    stand.setAttribute('title', `Image not loaded: ${src}`);
  } else {
    stand = doc.createElement('span');
    stand.setAttribute('title', src ? `Image not loaded: ${src}` : 'Image');
  }
  stand.className = IMAGE_CLASS;
  stand.textContent = label;
  image.replaceWith(stand);
}
