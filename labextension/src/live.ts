/**
 * Markdown that grows in place. Each top-level block of the answer has its own DOM nodes;
 * an update renders only the blocks whose text changed (while streaming, the last one),
 * so new text costs work in proportion to itself, not to the whole answer. How a block
 * becomes DOM is a `MarkdownRender` (JupyterLab's pipeline, or the standalone one).
 *
 * A block is rendered into a staging element that is in the page — right after this
 * view's node, with its classes, invisible and out of the flow — and its nodes are moved into place when done: the old
 * rendering stays on screen until the new one is ready (no flash), and the math
 * typesetter measures the real surrounding font (typeset in a detached element, MathJax
 * cannot, and math comes out smaller than in any other Markdown output). When the
 * answer is final, it is rendered once more as a whole, which fixes the rare constructs
 * that span blocks (a link reference defined at the end, a loose list).
 */

import { healTail, splitBlocks } from './markdown';

/** Render Markdown `source` into `host` (an element already in the page). */
export type MarkdownRender = (host: HTMLElement, source: string) => Promise<void>;

interface IBlock {
  /** The exact Markdown these nodes show (healed, for the live tail). */
  source: string;
  /** Marks where the block starts; comments do not count for CSS or layout. */
  marker: Comment;
  nodes: ChildNode[];
}

const CURSOR_CLASS = 'jp-nbstream-cursor';
const STAGING_CLASS = 'jp-nbstream-staging';

export class LiveMarkdown {
  readonly node: HTMLElement;
  /** How many blocks were rendered so far (tests read it). */
  renders = 0;

  constructor(
    private readonly render: MarkdownRender,
    private readonly decorate: (host: HTMLElement) => void = () => undefined
  ) {
    this.node = document.createElement('div');
    this.node.className = 'jp-nbstream-markdown jp-RenderedMarkdown jp-RenderedHTMLCommon';
  }

  /**
   * Show `source`. With `live`, it is still growing: render it block by block with a
   * healed tail and a cursor at its end; otherwise render it whole, once.
   *
   * The blocks' elements all sit directly in `node`, as one rendered document's would,
   * so JupyterLab's styles (`> pre`, `:first-child`, margins) apply unchanged.
   */
  async update(source: string, live: boolean): Promise<void> {
    let wanted: string[];
    if (live) {
      const parts = splitBlocks(source);
      wanted = parts.map((part, i) => (i === parts.length - 1 ? healTail(part) : part));
    } else {
      wanted = source ? [source] : [];
    }
    for (let i = 0; i < wanted.length; i++) {
      const old = this._blocks[i];
      if (old && old.source === wanted[i]) {
        continue;
      }
      const nodes = await this._renderBlock(wanted[i]);
      if (old) {
        old.nodes.forEach(node => node.remove());
        old.marker.after(...nodes);
        this._blocks[i] = { source: wanted[i], marker: old.marker, nodes };
      } else {
        const marker = document.createComment('nbstream-block');
        this.node.append(marker, ...nodes);
        this._blocks.push({ source: wanted[i], marker, nodes });
      }
    }
    for (const extra of this._blocks.splice(wanted.length)) {
      extra.marker.remove();
      extra.nodes.forEach(node => node.remove());
    }
    this._cursor?.remove();
    this._cursor = null;
    const last = this._blocks[this._blocks.length - 1];
    if (live) {
      this._cursor = placeCursor(this.node, last?.nodes);
    }
  }

  private async _renderBlock(source: string): Promise<ChildNode[]> {
    // Beside the Markdown, not in it: inside, it would be a `:last-child` for CSS.
    const host = document.createElement('div');
    host.className = `${STAGING_CLASS} ${this.node.className}`;
    host.setAttribute('aria-hidden', 'true');
    if (this.node.parentNode) {
      this.node.after(host);
    } else {
      this.node.append(host);
    }
    try {
      await this.render(host, source);
      this.decorate(host);
      this.renders++;
      return Array.from(host.childNodes);
    } finally {
      host.remove();
    }
  }

  private _blocks: IBlock[] = [];
  private _cursor: HTMLElement | null = null;
}

/**
 * Put a blinking cursor right after the last character shown under `host` (only the
 * `nodes` of its last block are searched, when given: the cursor is always there).
 */
export function placeCursor(host: HTMLElement, nodes?: ChildNode[]): HTMLElement {
  const cursor = document.createElement('span');
  cursor.className = CURSOR_CLASS;
  cursor.setAttribute('aria-hidden', 'true');
  let last: Text | null = null;
  for (const root of nodes ?? [host]) {
    if (root.nodeType === Node.TEXT_NODE) {
      last = meaningful(root as Text) ?? last;
      continue;
    }
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      last = meaningful(node as Text) ?? last;
    }
  }
  if (!last) {
    const element = [...(nodes ?? [])].reverse().find(node => node.nodeType === 1);
    ((element as HTMLElement | undefined) ?? host.lastElementChild ?? host).appendChild(cursor);
    return cursor;
  }
  const trailing = /\s*$/.exec(last.data)?.[0].length ?? 0;
  if (trailing > 0) {
    // Before a code block's final newline, not on the empty line after it.
    const rest = last.splitText(last.data.length - trailing);
    rest.before(cursor);
  } else {
    last.after(cursor);
  }
  return cursor;
}

/** `text` if it shows something the cursor may follow (not our buttons, not a ¶ anchor). */
function meaningful(text: Text): Text | null {
  const skip = text.parentElement?.closest('.jp-nbstream-codebar, .jp-InternalAnchorLink');
  return text.data.trim() !== '' && !skip ? text : null;
}
