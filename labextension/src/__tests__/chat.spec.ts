/**
 * The chat widget's script with a fake anywidget model: answers stream into the same
 * answer view as a cell's; JupyterLab's pipeline is used when the plugin offers it.
 */

import chat from '../chat';
import { HOOK_NAME, IFrontEndHook } from '../hook';

class FakeModel {
  state: Record<string, unknown> = {
    turns: [],
    busy: false,
    generation: 0,
    model: 'openai:m',
    model_label: 'openai:m',
    notice: ''
  };
  sent: Record<string, unknown>[] = [];
  private handlers: Record<string, ((...args: any[]) => void)[]> = {};
  get(name: string): any {
    return this.state[name];
  }
  set(values: Record<string, unknown>): void {
    Object.assign(this.state, values);
    for (const name of Object.keys(values)) {
      this.emit(`change:${name}`);
    }
  }
  on(name: string, handler: (...args: any[]) => void): void {
    (this.handlers[name] ??= []).push(handler);
  }
  off(name: string, handler: (...args: any[]) => void): void {
    this.handlers[name] = (this.handlers[name] ?? []).filter(h => h !== handler);
  }
  emit(name: string, ...args: unknown[]): void {
    for (const handler of this.handlers[name] ?? []) {
      handler(...args);
    }
  }
  buffers: (ArrayBuffer[] | undefined)[] = [];
  send(content: Record<string, unknown>, _callbacks?: unknown, buffers?: ArrayBuffer[]): void {
    this.sent.push(content);
    this.buffers.push(buffers);
  }
}

const frame = (): Promise<void> => new Promise(resolve => setTimeout(resolve, 40));

let model: FakeModel;
let el: HTMLElement;
let cleanup: () => void;

function start(): void {
  model = new FakeModel();
  el = document.createElement('div');
  document.body.append(el);
  cleanup = chat.render({ model, el });
}

afterEach(() => {
  cleanup?.();
  document.body.replaceChildren();
  delete (globalThis as Record<string, unknown>)[HOOK_NAME];
});

describe('the chat widget', () => {
  it('streams an answer into an answer view, then keeps that view for the finished turn', async () => {
    start();
    expect(el.querySelector('.nbstream-chat')?.getAttribute('data-renderer')).toBe('standalone');
    model.set({ turns: [{ role: 'user', content: 'Hi <b>' }], busy: true, generation: 1 });
    model.emit('msg:custom', { type: 'delta', gen: 1, text: 'Hello **wor', stats: '● streaming · 2 tokens' });
    await frame();
    const pending = el.querySelector('.nbstream-chat-pending');
    expect(pending?.querySelector('.jp-nbstream-view strong')?.textContent).toBe('wor');
    expect(pending?.querySelector('.jp-nbstream-cursor')).not.toBeNull();
    expect(el.querySelector('.nbstream-chat-live-stats')?.textContent).toBe('● streaming · 2 tokens');
    expect(el.querySelector('.nbstream-chat-user .nbstream-chat-body')?.textContent).toBe('Hi <b>');
    model.emit('msg:custom', { type: 'delta', gen: 1, text: 'ld** and $x^2$', stats: '● streaming · 5 tokens' });
    await frame();
    (pending?.querySelector('.jp-nbstream-stop') as HTMLButtonElement).click();
    expect(model.sent).toEqual([{ type: 'stop' }]);
    model.set({
      turns: [
        { role: 'user', content: 'Hi <b>' },
        { role: 'assistant', content: 'Hello **world** and $x^2$', status: 'interrupted', stats: '■ interrupted · 5 tokens' }
      ],
      busy: false
    });
    await frame();
    const messages = el.querySelectorAll('.nbstream-chat-msg');
    expect(messages).toHaveLength(2);
    expect(messages[1]).toBe(pending);
    expect(pending?.classList).not.toContain('nbstream-chat-pending');
    expect(pending?.querySelector('.jp-nbstream-cursor')).toBeNull();
    expect(pending?.querySelector('.katex')).not.toBeNull();
    expect(pending?.querySelector('.jp-nbstream-status')?.textContent).toBe('■ interrupted · 5 tokens');
    expect((pending?.querySelector('.jp-nbstream-stop') as HTMLButtonElement).hidden).toBe(true);
  });

  it('keeps the nodes of finished messages when a turn is added', async () => {
    start();
    const first = [
      { role: 'user', content: 'q' },
      { role: 'assistant', content: 'a', status: 'done', stats: 's' }
    ];
    model.set({ turns: first });
    await frame();
    const kept = el.querySelector('.nbstream-chat-assistant');
    model.set({ turns: [...first, { role: 'user', content: 'q2' }] });
    await frame();
    expect(el.querySelector('.nbstream-chat-assistant')).toBe(kept);
    expect(el.querySelectorAll('.nbstream-chat-msg')).toHaveLength(3);
  });

  it('renders through JupyterLab\'s pipeline when the plugin offers it', async () => {
    const seen: string[] = [];
    const hook: IFrontEndHook = {
      version: 1,
      renderMarkdown: async (host, source) => {
        seen.push(source);
        host.innerHTML = '<p class="from-lab">lab</p>';
      },
      insertBelow: () => true
    };
    (globalThis as Record<string, unknown>)[HOOK_NAME] = hook;
    start();
    expect(el.querySelector('.nbstream-chat')?.getAttribute('data-renderer')).toBe('jupyterlab');
    model.set({ turns: [{ role: 'assistant', content: '```\nx\n```', status: 'done', stats: '' }] });
    await frame();
    expect(seen).toEqual(['```\nx\n```']);
    expect(el.querySelector('.from-lab')).not.toBeNull();
  });

  it('shows a user turn\'s inline images as thumbnails, and never loads a remote one', async () => {
    start();
    const png = 'data:image/png;base64,iVBORw0KGgo=';
    model.set({
      turns: [
        {
          role: 'user',
          content: 'What is this?',
          images: [
            { label: '[image: PNG, 2×1 px, 8 bytes]', src: png },
            { label: '[image: PNG, 9×9 px, 99 bytes]', src: 'https://example.com/x.png' }
          ]
        }
      ]
    });
    await frame();
    const body = el.querySelector('.nbstream-chat-user .nbstream-chat-body');
    const thumbs = body?.querySelectorAll('img') ?? [];
    expect(thumbs).toHaveLength(1);
    expect((thumbs[0] as HTMLImageElement).src).toBe(png);
    expect((thumbs[0] as HTMLImageElement).alt).toBe('[image: PNG, 2×1 px, 8 bytes]');
    expect(body?.querySelector('.nbstream-chat-image-label')?.textContent).toBe('[image: PNG, 9×9 px, 99 bytes]');
  });
});
