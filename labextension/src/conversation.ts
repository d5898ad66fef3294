/**
 * One conversation turn as the user sees it, shared by the live chat widget (`chat.ts`)
 * and the saved transcript (`transcript.ts`): a user message is its text, as typed; an
 * assistant message is the streaming answer view (`answer.ts`), the same as a cell's.
 */

import { AnswerView, IAnswerActions, IPayload } from './answer';
import { MarkdownRender } from './live';

/**
 * An image a user sent: `label` is the placeholder line (type, pixels, bytes) written by
 * the kernel; `src`, a data URI, is there only in the live widget's turns.
 */
export interface ITurnImage {
  label: string;
  mime?: string;
  width?: number | null;
  height?: number | null;
  bytes?: number;
  sha256?: string;
  src?: string;
}

/** A finished message, as the widget's `turns` trait (and the transcript) carry it. */
export interface ITurn {
  role: string;
  content: string;
  images?: ITurnImage[];
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

/** Only an inline picture (a data URI) is ever shown: nothing is fetched from anywhere. */
const INLINE_IMAGE = /^data:image\/(png|jpeg|gif|webp);base64,/;

/**
 * A user's message: plain text, never parsed, then its images — thumbnails when
 * `thumbnails` is on and the picture is inline, else their placeholder lines.
 */
export function userMessage(turn: ITurn, thumbnails = false): IMessage {
  const { node, body } = shell(turn.role);
  body.textContent = turn.content;
  const images = turn.images ?? [];
  if (images.length) {
    const strip = document.createElement('div');
    strip.className = 'nbstream-chat-images';
    for (const image of images) {
      if (thumbnails && image.src && INLINE_IMAGE.test(image.src)) {
        const img = document.createElement('img');
        img.className = 'nbstream-chat-thumb';
        img.src = image.src;
        img.alt = image.label;
        img.title = image.label;
        strip.append(img);
      } else {
        const label = document.createElement('span');
        label.className = 'nbstream-chat-image-label';
        label.textContent = image.label;
        strip.append(label);
      }
    }
    body.append(strip);
  }
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
  actions: IAnswerActions,
  thumbnails = false
): IMessage {
  if (turn.role === 'user' || turn.role === 'system') {
    return userMessage(turn, thumbnails);
  }
  const message = assistantMessage(render, actions);
  message.node.dataset.status = turn.status ?? 'done';
  void message.view?.show(turnPayload(turn));
  return message;
}
