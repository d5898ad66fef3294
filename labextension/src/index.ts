/**
 * The plugin: registers nbstream's renderers with JupyterLab's renderer registry — the
 * answer (`application/vnd.nbstream.v1+json`), the saved chat transcript, and the calm
 * line for an interruption the user asked for (stderr, `notice.ts`) — gives them what
 * their buttons need from the notebook (the cell, the kernel); offers JupyterLab's
 * Markdown pipeline to the chat widget's script (`hook.ts`); has `%%llm` cells
 * highlighted as Markdown; and answers each notebook kernel's invite, so live cells send
 * only new text (`deltas.ts`).
 *
 * A plain plugin rather than a mime-extension, because Stop and Insert below need the
 * notebook tracker. The factory is added at start-up, before any notebook opens, so
 * each notebook's copy of the registry has it. It is `safe` (it renders model text only
 * through the sanitizer) and ranked above `text/markdown` (lower number wins), so
 * reopened, untrusted notebooks use it too.
 */

import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { INotebookTracker, Notebook, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';

import { copyText } from './clipboard';
import { attachKernel } from './deltas';
import { highlightPrompts } from './highlight';
import { setHook } from './hook';
import { NoticeRenderer, STDERR_MIME_TYPE } from './notice';
import { labMarkdown } from './render';
import { TRANSCRIPT_MIME_TYPE, TranscriptRenderer } from './transcript';
import { AnswerRenderer, IAnswerActions, MIME_TYPE } from './widget';

export { AnswerRenderer, MIME_TYPE } from './widget';

/** Below `text/markdown` (60) and `text/html` (50): picked first wherever present. */
export const RANK = 30;

interface ICellPlace {
  panel: NotebookPanel;
  index: number;
}

/** The notebook and cell index whose output contains `node`, if any. */
function findCell(tracker: INotebookTracker, node: HTMLElement): ICellPlace | null {
  let found: ICellPlace | null = null;
  tracker.forEach(panel => {
    if (found || !panel.node.contains(node)) {
      return;
    }
    const index = panel.content.widgets.findIndex(cell => cell.node.contains(node));
    if (index >= 0) {
      found = { panel, index };
    }
  });
  return found;
}

function notebookActions(tracker: INotebookTracker): IAnswerActions {
  return {
    isRunning(node) {
      const place = findCell(tracker, node);
      if (!place) {
        return false;
      }
      const model = place.panel.content.widgets[place.index].model as {
        executionState?: string;
      };
      return model.executionState === 'running';
    },
    stop(node) {
      const place = findCell(tracker, node);
      void place?.panel.sessionContext.session?.kernel?.interrupt();
    },
    insertBelow(node, code) {
      const place = findCell(tracker, node);
      if (!place) {
        return false;
      }
      const notebook: Notebook = place.panel.content;
      notebook.activeCellIndex = place.index;
      NotebookActions.insertBelow(notebook);
      notebook.activeCell?.model.sharedModel.setSource(code);
      notebook.mode = 'command';
      return true;
    },
    copy: copyText
  };
}

/** JupyterLab's error renderer's rank: the notice replaces it for stderr. */
const STDERR_RANK = 110;

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'nbstream:renderer',
  description: 'Renders streamed nbstream answers: live Markdown, status, Stop, Copy.',
  autoStart: true,
  requires: [IRenderMimeRegistry, INotebookTracker],
  optional: [IEditorLanguageRegistry],
  activate: (
    app: JupyterFrontEnd,
    rendermime: IRenderMimeRegistry,
    tracker: INotebookTracker,
    languages: IEditorLanguageRegistry | null
  ): void => {
    const actions = notebookActions(tracker);
    const factory: IRenderMime.IRendererFactory = {
      safe: true,
      mimeTypes: [MIME_TYPE],
      defaultRank: RANK,
      createRenderer: options => new AnswerRenderer(options, actions)
    };
    rendermime.addFactory(factory, RANK);
    rendermime.addFactory(
      {
        safe: true,
        mimeTypes: [TRANSCRIPT_MIME_TYPE],
        defaultRank: RANK,
        createRenderer: options => new TranscriptRenderer(options, actions)
      },
      RANK
    );
    rendermime.addFactory(
      {
        safe: true,
        mimeTypes: [STDERR_MIME_TYPE],
        defaultRank: STDERR_RANK,
        createRenderer: options => new NoticeRenderer(options)
      },
      STDERR_RANK
    );
    setHook({
      version: 1,
      renderMarkdown: labMarkdown({
        sanitizer: rendermime.sanitizer,
        resolver: null,
        linkHandler: rendermime.linkHandler,
        latexTypesetter: rendermime.latexTypesetter,
        markdownParser: rendermime.markdownParser
      }),
      insertBelow: (node, code) => actions.insertBelow?.(node, code) === true
    });
    if (languages) {
      highlightPrompts(tracker, languages);
    }
    // Say hello to every notebook's kernel, so live cells send only new text (deltas.ts).
    // Notebooks restored before this plugin started are in the tracker already.
    const watch = (panel: NotebookPanel): void => {
      const context = panel.sessionContext;
      const follow = (): void => {
        const kernel = context.session?.kernel;
        if (kernel) {
          attachKernel(kernel);
        }
      };
      context.kernelChanged.connect(follow);
      void context.ready.then(follow);
      follow();
    };
    tracker.forEach(watch);
    tracker.widgetAdded.connect((_, panel) => watch(panel));
  }
};

export default plugin;
