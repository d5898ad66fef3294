/**
 * One conversation turn as the user sees it, shared by the live chat widget (`chat.ts`)
 * and the saved transcript (`transcript.ts`): a user message is its text, as typed; an
 * assistant message is the streaming answer view (`answer.ts`), the same as a cell's.
 */

import { AnswerView, IAnswerActions, IPayload } from './answer';
import { MarkdownRender } from './live';

/** A finished message, as the widget's `turns` trait (and the transcript) carry it. */
export interface ITurn {
  role: string;
  content: string;
  status?: string;
  stats?: string;
  reasoning?: string;
  error?: string;
  in_history?: boolean;
}

export const ROLE_TITLES: Record<string, string> = {
  user: 'You',
  assistant: 'Assistant',
  system: 'System'
};

/** The answer view's payload for a finished assistant turn. */
export function turnPayload(turn: ITurn): IPayload {
  return {
    text: turn.content ?? '',
    reasoning: turn.reasoning ?? '',
    status: (turn.status as IPayload['status']) ?? 'done',
    error: turn.error ?? null,
    format: 'markdown',
    status_line: turn.stats ?? ''
  };
}

export interface IMessage {
  node: HTMLElement;
  view: AnswerView | null;
}

function shell(role: string): { node: HTMLElement; body: HTMLElement } {
  const node = document.createElement('div');
  node.className = `nbstream-chat-msg nbstream-chat-${role}`;
  node.dataset.role = role;
  node.setAttribute('aria-label', ROLE_TITLES[role] ?? role);
  const body = document.createElement('div');
  body.className = 'nbstream-chat-body';
  node.append(body);
  return { node, body };
}

/** A user's message: plain text, never parsed. */
export function userMessage(turn: ITurn): IMessage {
  const { node, body } = shell(turn.role);
  body.textContent = turn.content;
  if (turn.status) {
    node.dataset.status = turn.status;
  }
  return { node, view: null };
}

/** An assistant's message: an answer view (shown by the caller). */
export function assistantMessage(render: MarkdownRender, actions: IAnswerActions): IMessage {
  const { node, body } = shell('assistant');
  const view = new AnswerView(render, actions);
  body.append(view.node);
  return { node, view };
}

/** A finished turn of either kind, rendered. */
export function turnMessage(
  turn: ITurn,
  render: MarkdownRender,
  actions: IAnswerActions
): IMessage {
  if (turn.role === 'user' || turn.role === 'system') {
    return userMessage(turn);
  }
  const message = assistantMessage(render, actions);
  message.node.dataset.status = turn.status ?? 'done';
  void message.view?.show(turnPayload(turn));
  return message;
}
