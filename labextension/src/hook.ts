/**
 * How the chat widget's script finds JupyterLab's Markdown pipeline. The widget's script
 * is loaded by anywidget, not by JupyterLab, so it cannot import JupyterLab's packages;
 * the nbstream plugin, when JupyterLab (or Notebook 7) activates it, sets this small
 * global, and the widget uses it when present — so a chat message and a cell answer are
 * rendered by the same parser, sanitizer and math typesetter. Where it is absent (VS
 * Code, Colab) the widget uses its bundled pipeline (`standalone.ts`).
 *
 * Versioned: a later, incompatible shape gets a new name, so an old widget script and a
 * new extension (or the reverse) fall back to the bundled pipeline instead of breaking.
 */

import type { MarkdownRender } from './live';

export const HOOK_NAME = '__nbstream_frontend_v1__';

export interface IFrontEndHook {
  version: 1;
  /** JupyterLab's Markdown pipeline, untrusted, with nbstream's policy. */
  renderMarkdown: MarkdownRender;
  /** A new code cell with `code` below the cell whose output holds `node`. */
  insertBelow(node: HTMLElement, code: string): boolean;
}

type Global = { [HOOK_NAME]?: IFrontEndHook };

export function setHook(hook: IFrontEndHook): void {
  (globalThis as Global)[HOOK_NAME] = hook;
}

export function findHook(): IFrontEndHook | null {
  const hook = (globalThis as Global)[HOOK_NAME];
  return hook && hook.version === 1 ? hook : null;
}
