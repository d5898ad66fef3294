/**
 * The text of live answers, put together from their deltas: kept once per page, whichever
 * views follow it. Used by the lab extension's cell renderer (`deltas.ts`, `widget.ts`)
 * and by a cell streamed through a widget where the extension is absent (`answerhost.ts`);
 * its own module so the widget's script does not bundle JupyterLab's kernel code.
 */

import type { IPayload } from './answer';

/** One delta, as `_wire.DeltaPublisher` sends it. */
export interface IDelta {
  seq: number;
  at: number;
  text: string;
  r_at?: number;
  reasoning?: string;
  status_line?: string;
}

/** The text of one live answer so far, as put together from its deltas. */
export interface IStreamState {
  text: string | null;
  reasoning: string | null;
  statusLine: string | null;
  seq: number;
  /** A delta could not be applied: wait for the final bundle. */
  broken: boolean;
}

type Listener = (state: IStreamState) => void;

interface IEntry {
  state: IStreamState;
  listeners: Set<Listener>;
  open: boolean;
}

/** Splice `text` into `base` at `at`; null if `at` lies beyond what `base` has. */
function splice(base: string | null, at: number, text: string): string | null {
  if (base === null) {
    return at === 0 ? text : null;
  }
  return at <= base.length ? base.slice(0, at) + text : null;
}

export class LiveStreams {
  /** Follow answer `id`; `seed` is what the view's output holds (the first bundle). */
  subscribe(id: string, seed: IPayload, listener: Listener): () => void {
    const entry = this._entry(id);
    if (entry.state.seq === 0 && entry.state.text === null) {
      entry.state.text = seed.text ?? '';
      entry.state.reasoning = seed.reasoning ?? '';
    }
    entry.listeners.add(listener);
    return () => {
      entry.listeners.delete(listener);
      if (!entry.open && entry.listeners.size === 0) {
        this._entries.delete(id);
      }
    };
  }

  /** The state of answer `id`, if known (tests). */
  state(id: string): IStreamState | undefined {
    return this._entries.get(id)?.state;
  }

  open(id: string): void {
    this._entry(id).open = true;
  }

  close(id: string): void {
    const entry = this._entries.get(id);
    if (entry) {
      entry.open = false;
      if (entry.listeners.size === 0) {
        this._entries.delete(id);
      }
    }
  }

  apply(id: string, delta: IDelta): void {
    const entry = this._entry(id);
    const state = entry.state;
    if (delta.seq <= state.seq || state.broken) {
      return; // already applied (a second connection), or waiting for the final bundle
    }
    let text = delta.seq === state.seq + 1 ? splice(state.text, delta.at, delta.text) : null;
    let reasoning = state.reasoning;
    if (text !== null && delta.reasoning !== undefined) {
      reasoning = splice(state.reasoning, delta.r_at ?? 0, delta.reasoning);
      text = reasoning === null ? null : text;
    }
    state.seq = delta.seq;
    if (text === null) {
      state.broken = true;
      return;
    }
    state.text = text;
    state.reasoning = reasoning;
    state.statusLine = delta.status_line ?? state.statusLine;
    entry.listeners.forEach(listener => listener(state));
  }

  private _entry(id: string): IEntry {
    let entry = this._entries.get(id);
    if (!entry) {
      entry = {
        state: { text: null, reasoning: null, statusLine: null, seq: 0, broken: false },
        listeners: new Set(),
        open: false
      };
      this._entries.set(id, entry);
    }
    return entry;
  }

  private _entries = new Map<string, IEntry>();
}

/** The page's one registry of live answers. */
export const STREAMS = new LiveStreams();

/** The first bundle with the text its deltas brought (unchanged if they broke off). */
export function withDeltas(payload: IPayload, state: IStreamState): IPayload {
  if (state.broken || state.text === null) {
    return payload;
  }
  return {
    ...payload,
    text: state.text,
    reasoning: state.reasoning ?? payload.reasoning,
    status_line: state.statusLine ?? payload.status_line
  };
}
