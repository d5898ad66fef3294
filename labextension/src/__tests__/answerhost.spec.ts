/**
 * A live cell streamed through a widget (no nbstream extension): the chat's script
 * registers the answer host on load; each answer's loader hands its model over, with the
 * deltas that came before the host was there; the view shows the seed plus the deltas
 * in order, and has Stop only where the widget manager offers a kernel to interrupt.
 */

import chat from '../chat';
import { findAnswerHost, HOST_NAME } from '../hostkey';
import loader from '../loader';

class FakeModel {
  constructor(public state: Record<string, unknown>, public widget_manager?: unknown) {}
  sent: Record<string, unknown>[] = [];
  private handlers: Record<string, ((...args: any[]) => void)[]> = {};
  get(name: string): any {
    return this.state[name];
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
  send(content: Record<string, unknown>): void {
    this.sent.push(content);
  }
}

const wait = (ms = 60): Promise<void> => new Promise(resolve => setTimeout(resolve, ms));

function answer(id: string, manager?: unknown): FakeModel {
  const payload = { text: 'Hello', status: 'streaming', status_line: '● streaming', stream: id };
  return new FakeModel({ payload }, manager);
}

afterEach(() => {
  delete (globalThis as any)[Symbol.for(HOST_NAME)];
  document.body.innerHTML = '';
});

it('keeps deltas that come before the host, then shows seed and deltas in order', async () => {
  const model = answer('a1');
  loader.initialize({ model });
  model.emit('msg:custom', { seq: 1, at: 5, text: ' wor', status_line: '● streaming · 2' });
  expect(findAnswerHost()).toBeNull();
  chat.initialize(); // the big script arrives
  await wait();
  model.emit('msg:custom', { seq: 2, at: 9, text: 'ld', status_line: '● streaming · 3' });
  const el = document.createElement('div');
  document.body.append(el);
  const cleanup = await loader.render({ model, el });
  await wait();
  const text = el.querySelector('.jp-nbstream-view > .jp-nbstream-markdown')?.textContent;
  expect(text?.trim()).toBe('Hello world');
  expect(el.querySelector('.jp-nbstream-status')?.textContent).toBe('● streaming · 3');
  expect(el.querySelector('.jp-nbstream-cursor')).not.toBeNull();
  cleanup();
});

it('has Stop only where the widget manager can interrupt the kernel', async () => {
  chat.initialize();
  const interrupted: string[] = [];
  const kernel = { interrupt: async () => void interrupted.push('now') };
  const withKernel = answer('a2', { kernel });
  const without = answer('a3', {});
  const shown: HTMLElement[] = [];
  for (const model of [withKernel, without]) {
    const el = document.createElement('div');
    document.body.append(el);
    findAnswerHost()!.follow(model, []);
    findAnswerHost()!.render({ model, el });
    shown.push(el);
  }
  await wait();
  const stop = shown[0].querySelector<HTMLButtonElement>('.jp-nbstream-stop')!;
  expect(stop.hidden).toBe(false);
  stop.click();
  expect(interrupted).toEqual(['now']);
  expect(shown[1].querySelector<HTMLButtonElement>('.jp-nbstream-stop')!.hidden).toBe(true);
  expect(without.sent).toEqual([]);
});
