/**
 * `%%llm` cell bodies are prompts, usually written as Markdown, so the editor highlights
 * such cells as Markdown instead of Python.
 *
 * JupyterLab picks a cell editor's language from the cell model's `mimeType`, and the
 * notebook sets every code cell to the kernel's language whenever it learns it (and for
 * each new cell). So the choice is made again after every content or metadata change:
 * a cell whose first line starts `%%llm` (or `%%nbstream`) gets Markdown, any other code
 * cell the notebook's language. The mime type is not saved in the notebook file.
 *
 * An editor applies a language when it has loaded, not in the order it was asked for:
 * if Markdown loads before the kernel's language that the notebook asked for just
 * before, the cell ends up in the kernel's language. So the choice is applied only once
 * both languages are loaded (then each loads at once, in order).
 */

import { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { INotebookTracker, Notebook } from '@jupyterlab/notebook';

const PROMPT_MAGIC = /^%%(llm|nbstream)\b/;

/** JupyterLab's Markdown (GitHub flavour, with math) editor mode. */
export const PROMPT_MIMETYPE = 'text/x-ipythongfm';

function apply(notebook: Notebook): void {
  for (const cell of notebook.widgets) {
    if (cell.model.type !== 'code') {
      continue;
    }
    const wanted = PROMPT_MAGIC.test(cell.model.sharedModel.getSource())
      ? PROMPT_MIMETYPE
      : notebook.codeMimetype;
    if (cell.model.mimeType !== wanted) {
      cell.model.mimeType = wanted;
    }
  }
}

/** Keep `%%llm` cells highlighted as Markdown in every notebook `tracker` sees. */
export function highlightPrompts(
  tracker: INotebookTracker,
  languages: IEditorLanguageRegistry
): void {
  tracker.widgetAdded.connect((_, panel) => {
    const notebook = panel.content;
    const update = (): void => {
      const loaded = [notebook.codeMimetype, PROMPT_MIMETYPE].map(mime =>
        languages.getLanguage(mime).catch(() => null)
      );
      void Promise.all(loaded).then(() => setTimeout(() => apply(notebook), 0));
    };
    const follow = (): void => {
      notebook.model?.metadataChanged.connect(update);
      update();
    };
    notebook.modelContentChanged.connect(update);
    notebook.modelChanged.connect(follow);
    follow();
  });
}
