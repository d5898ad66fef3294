/**
 * The renderer in a DOM with JupyterLab's real sanitizer and a real Markdown parser
 * (marked, as JupyterLab uses): live growth, healing, sanitizing, status and buttons.
 */

import { Sanitizer } from '@jupyterlab/apputils';
import { MimeModel } from '@jupyterlab/rendermime';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';
import { marked } from 'marked';

import { placeCursor } from '../live';
import { AnswerRenderer, IAnswerActions, IPayload, MIME_TYPE } from '../widget';

class RecordedActions implements IAnswerActions {
  running = true;
  stopped = 0;
  inserted: string[] = [];
  copied: string[] = [];
  isRunning(): boolean {
    return this.running;
  }
  stop(): void {
    this.stopped++;
  }
  insertBelow(_node: HTMLElement, code: string): void {
    this.inserted.push(code);
  }
  copy(text: string): boolean {
    this.copied.push(text);
    return true;
  }
}

function options(): IRenderMime.IRendererOptions {
  return {
    mimeType: MIME_TYPE,
    sanitizer: new Sanitizer(),
    resolver: null,
    linkHandler: null,
    latexTypesetter: null,
    markdownParser: { render: async (source: string) => marked.parse(source) }
  };
}

const STATUS_LINES: Record<string, string> = {
  streaming: '● streaming · tiny.gguf · 3 tokens',
  done: 'tiny.gguf · 3 tokens · 50.0 tok/s',
  interrupted: '■ interrupted · tiny.gguf · 3 tokens',
  error: '▲ error · tiny.gguf · 3 tokens'
};

function model(payload: IPayload): MimeModel {
  const status = payload.status ?? 'streaming';
  return new MimeModel({
    data: { [MIME_TYPE]: { status_line: STATUS_LINES[status], ...payload, status } as never }
  });
}

let actions: RecordedActions;
let renderer: AnswerRenderer;

beforeEach(() => {
  actions = new RecordedActions();
  renderer = new AnswerRenderer(options(), actions);
  Widget.attach(renderer, document.body);
});

afterEach(() => {
  renderer.dispose();
});

const $ = (selector: string): HTMLElement | null => renderer.node.querySelector(selector);
const text = (): string => renderer.answer.node.textContent ?? '';

describe('live rendering', () => {
  it('renders only the changing tail; stable blocks keep their nodes', async () => {
    await renderer.renderModel(model({ text: '# Title\n\nFirst para' }));
    const title = $('h1');
    expect(title?.textContent).toContain('Title');
    const before = renderer.answer.renders;
    await renderer.renderModel(model({ text: '# Title\n\nFirst paragraph.\n\nSec' }));
    await renderer.renderModel(model({ text: '# Title\n\nFirst paragraph.\n\nSecond one' }));
    expect($('h1')).toBe(title);
    // One document's worth of elements, side by side, as JupyterLab's styles expect.
    const children = Array.from(renderer.answer.node.children).map(child => child.tagName);
    expect(children).toEqual(['H1', 'P', 'P']);
    // first update: old tail (now stable) + new tail; second: the tail only
    expect(renderer.answer.renders - before).toBe(3);
  });

  it('shows a blinking cursor at the live end, and none when done', async () => {
    await renderer.renderModel(model({ text: 'Hello **wor' }));
    const cursor = $('.jp-nbstream-cursor');
    expect(cursor).not.toBeNull();
    expect(cursor?.previousSibling?.textContent).toBe('wor');
    await renderer.renderModel(model({ text: 'Hello **world**', status: 'done' }));
    expect($('.jp-nbstream-cursor')).toBeNull();
    expect($('strong')?.textContent).toBe('world');
  });

  it('puts the cursor after a heading, not after its anchor link', async () => {
    await renderer.renderModel(model({ text: '# Title' }));
    const heading = $('h1');
    const anchor = document.createElement('a');
    anchor.className = 'jp-InternalAnchorLink';
    anchor.textContent = '¶';
    heading?.append(anchor);
    renderer.answer.node.querySelector('.jp-nbstream-cursor')?.remove();
    expect(placeCursor(renderer.answer.node).previousSibling?.textContent).toBe('Title');
  });

  it('puts the cursor inside an unfinished code block, not after it', async () => {
    await renderer.renderModel(model({ text: 'Code:\n\n```python\nprint(1)\n' }));
    const cursor = $('.jp-nbstream-cursor');
    expect(cursor?.closest('pre')).not.toBeNull();
  });

  it('does not flash raw fences or emphasis markers', async () => {
    await renderer.renderModel(model({ text: 'Use **this' }));
    expect($('strong')?.textContent).toBe('this');
    expect(text()).not.toContain('*');
    await renderer.renderModel(model({ text: 'Use **this**:\n\n```py\nx = 1' }));
    expect($('pre')?.textContent).toContain('x = 1');
    expect(text()).not.toContain('```');
  });

  it('renders the newest of quick updates, once the last promise resolves', async () => {
    const pending = ['a', 'a b', 'a b c', 'a b c d'].map(t => renderer.renderModel(model({ text: t })));
    await Promise.all(pending);
    expect(text().trim()).toBe('a b c d');
    expect($('.jp-nbstream-cursor')).not.toBeNull();
  });

  it('keeps the text and format of the final answer', async () => {
    await renderer.renderModel(model({ text: '<b>not bold</b>', format: 'text', status: 'done' }));
    expect($('pre')?.textContent).toContain('<b>not bold</b>');
    expect($('b')).toBeNull();
  });
});

describe('sanitizing what the model wrote', () => {
  const attacks = [
    'Look <img src=x onerror="window.__nbstreamPwned = 1"> here',
    '<script>window.__nbstreamPwned = 2</script>',
    '[click me](javascript:window.__nbstreamPwned=3)',
    '<a href="javascript:window.__nbstreamPwned=4">raw link</a>',
    '<iframe src="javascript:window.__nbstreamPwned=5"></iframe>',
    '<svg><script>window.__nbstreamPwned=6</script></svg>',
    '<div onclick="window.__nbstreamPwned=7" style="position:fixed">x</div>'
  ].join('\n\n');

  it.each(['streaming', 'done'] as const)('leaves no scripts or handlers (%s)', async status => {
    await renderer.renderModel(model({ text: attacks, status }));
    const node = renderer.node;
    expect(node.querySelector('script, iframe')).toBeNull();
    for (const element of Array.from(node.querySelectorAll('*'))) {
      for (const attribute of Array.from(element.attributes)) {
        expect(attribute.name.startsWith('on')).toBe(false);
        expect(attribute.value.trim().toLowerCase().startsWith('javascript:')).toBe(false);
      }
    }
    node.querySelectorAll('a, img, div').forEach(el => (el as HTMLElement).click());
    expect((window as unknown as { __nbstreamPwned?: number }).__nbstreamPwned).toBeUndefined();
  });

  it('sanitizes the reasoning too', async () => {
    await renderer.renderModel(model({ reasoning: '<img src=x onerror="alert(1)">', text: 'ok' }));
    expect($('.jp-nbstream-reasoning img')?.getAttribute('onerror') ?? null).toBeNull();
  });
});

describe('status line and buttons', () => {
  it.each([
    ['streaming', false],
    ['done', true],
    ['interrupted', true],
    ['error', true]
  ] as const)('%s: the state is shown; Stop hidden=%s', async (status, stopHidden) => {
    await renderer.renderModel(model({ text: 'partial', status, error: 'ConnectError: no server' }));
    const line = $('.jp-nbstream-status');
    expect(line?.classList).toContain(`jp-nbstream-status-${status}`);
    expect(line?.textContent).toContain(STATUS_LINES[status]);
    expect(renderer.node.dataset.status).toBe(status);
    expect(($('.jp-nbstream-stop') as HTMLButtonElement).hidden).toBe(stopHidden);
    if (status === 'error') {
      expect(line?.textContent).toContain('ConnectError: no server');
    }
  });

  it('Stop asks to interrupt; Copy copies the Markdown', async () => {
    await renderer.renderModel(model({ text: 'Some *text*' }));
    $('.jp-nbstream-stop')?.click();
    $('.jp-nbstream-copy')?.click();
    expect(actions.stopped).toBe(1);
    expect(actions.copied).toEqual(['Some *text*']);
  });

  it('every code block offers Insert below and Copy with its code', async () => {
    const answer = 'One:\n\n```python\nprint(1)\n```\n\nTwo:\n\n```\nx = 2\ny = 3\n```';
    await renderer.renderModel(model({ text: answer, status: 'done' }));
    const inserts = renderer.node.querySelectorAll<HTMLElement>('.jp-nbstream-insert');
    expect(inserts).toHaveLength(2);
    inserts.forEach(button => button.click());
    renderer.node.querySelectorAll<HTMLElement>('.jp-nbstream-copy-code')[1].click();
    expect(actions.inserted).toEqual(['print(1)', 'x = 2\ny = 3']);
    expect(actions.copied).toEqual(['x = 2\ny = 3']);
  });

  it('a notebook saved mid-stream shows no cursor and no Stop when reopened', async () => {
    Widget.detach(renderer);
    actions.running = false;
    await renderer.renderModel(model({ text: 'half an ans' }));
    Widget.attach(renderer, document.body);
    await renderer.renderModel(model({ text: 'half an ans' }));
    expect($('.jp-nbstream-cursor')).toBeNull();
    expect(($('.jp-nbstream-stop') as HTMLButtonElement).hidden).toBe(true);
    expect(renderer.node.dataset.status).toBe('stale');
  });
});

describe('reasoning', () => {
  it('sits collapsed above the answer, and only when there is some', async () => {
    await renderer.renderModel(model({ text: 'Answer' }));
    const details = $('.jp-nbstream-reasoning') as HTMLDetailsElement;
    expect(details.hidden).toBe(true);
    await renderer.renderModel(model({ reasoning: 'Let me *think*', text: '' }));
    expect(details.hidden).toBe(false);
    expect(details.open).toBe(false);
    expect(details.querySelector('summary')?.textContent).toBe('Thinking…');
    await renderer.renderModel(model({ reasoning: 'Let me *think*', text: 'Answer', status: 'done' }));
    expect(details.querySelector('summary')?.textContent).toBe('Reasoning');
    expect(details.querySelector('em')?.textContent).toBe('think');
    expect(details.compareDocumentPosition(renderer.answer.node)).toBe(
      Node.DOCUMENT_POSITION_FOLLOWING
    );
  });
});
