/**
 * What the small widget scripts (`probe.ts`, `loader.ts`) and the big one (`chat.ts`,
 * through `answerhost.ts`) agree on, and nothing else: this module is bundled into each
 * of them, so it must stay tiny and import nothing.
 *
 * The kernel sends the big script (~360 KB, with ~380 KB of styles) once per kernel, as
 * a widget that is never displayed; its `initialize` puts the answer host under a
 * versioned, page-wide name. Each answer's widget sends only a loader of a few hundred
 * bytes, which waits for that name. A later, incompatible shape gets a new name, so an
 * old loader never drives a new host (or the reverse).
 */

/** `Symbol.for()` of this: the same symbol in every module instance and every script. */
export const HOST_NAME = 'nbstream.answer.v1';

/** The part of anywidget's model the answer's scripts use. */
export interface IHostModel {
  get(name: string): any;
  on(name: string, callback: (...args: any[]) => void): void;
  off(name: string, callback: (...args: any[]) => void): void;
  send(content: Record<string, unknown>): void;
  widget_manager?: unknown;
}

/** What the big script offers each answer's widget. */
export interface IAnswerHost {
  version: 1;
  /** Start keeping the answer's text; `queued`: its messages that came before. */
  follow(model: IHostModel, queued: unknown[]): void;
  /** Show the answer in `el`; returns the clean-up. */
  render(args: { model: IHostModel; el: HTMLElement }): () => void;
}

type Global = { [key: symbol]: IAnswerHost | undefined };

export function findAnswerHost(): IAnswerHost | null {
  const host = (globalThis as unknown as Global)[Symbol.for(HOST_NAME)];
  return host && host.version === 1 ? host : null;
}

export function setAnswerHost(host: IAnswerHost): void {
  if (!findAnswerHost()) {
    (globalThis as unknown as Global)[Symbol.for(HOST_NAME)] = host;
  }
}

/** The host, once the big script has run (it was sent before any answer's widget). */
export async function whenAnswerHost(): Promise<IAnswerHost> {
  for (;;) {
    const host = findAnswerHost();
    if (host) {
      return host;
    }
    await new Promise(resolve => setTimeout(resolve, 25));
  }
}
