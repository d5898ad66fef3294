/**
 * Markdown that grows in place. Each top-level block of the answer has its own DOM nodes;
 * an update renders only the blocks whose text changed (while streaming, the last one),
 * through JupyterLab's own Markdown pipeline (`renderMarkdown`: its parser, sanitizer,
 * link handling and math), so the output looks exactly like any Markdown output.
 *
 * Every block is rendered with `trusted: false`, whatever the notebook's trust: the text
 * comes from a model, and JupyterLab's sanitizer strips scripts, event handlers and
 * `javascript:` links from it. A block is rendered into a detached node and swapped in
 * when done, so the old rendering stays on screen until the new one is ready (no flash).
 * When the answer is final, it is rendered once more as a whole, which fixes the rare
 * constructs that span blocks (a link reference defined at the end, a loose list).
 */

import { renderMarkdown } from '@jupyterlab/rendermime';

import { healTail, splitBlocks } from './markdown';

/** What `renderMarkdown` needs besides the text: from the renderer's options. */
export type MarkdownContext = Omit<
  renderMarkdown.IRenderOptions,
  'host' | 'source' | 'trusted' | 'shouldTypeset'
>;

interface IBlock {
  /** The exact Markdown these nodes show (healed, for the live tail). */
  source: string;
  /** Marks where the block starts; comments do not count for CSS or layout. */
  marker: Comment;
  nodes: ChildNode[];
}

const CURSOR_CLASS = 'jp-nbstream-cursor';

export class LiveMarkdown {
  readonly node: HTMLElement;
  /** How many blocks were rendered so far (tests read it). */
  renders = 0;

  constructor(
    private readonly context: MarkdownContext,
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
      const host = document.createElement('div');
      await renderMarkdown({
        ...this.context,
        host,
        source: wanted[i],
        trusted: false,
        shouldTypeset: true
      });
      this.decorate(host);
      this.renders++;
      const nodes = Array.from(host.childNodes);
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
    this.node.querySelectorAll(`.${CURSOR_CLASS}`).forEach(cursor => cursor.remove());
    if (live) {
      placeCursor(this.node);
    }
  }

  private _blocks: IBlock[] = [];
}

/** Put a blinking cursor right after the last character shown under `host`. */
export function placeCursor(host: HTMLElement): HTMLElement {
  const cursor = document.createElement('span');
  cursor.className = CURSOR_CLASS;
  cursor.setAttribute('aria-hidden', 'true');
  const walker = document.createTreeWalker(host, NodeFilter.SHOW_TEXT);
  let last: Text | null = null;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    // Not in our code buttons, nor in a heading's (hidden) ¶ anchor.
    const skip = node.parentElement?.closest('.jp-nbstream-codebar, .jp-InternalAnchorLink');
    if ((node as Text).data.trim() !== '' && !skip) {
      last = node as Text;
    }
  }
  if (!last) {
    (host.lastElementChild ?? host).appendChild(cursor);
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
