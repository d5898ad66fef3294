/**
 * Deltas for live cells: the page's registry puts an answer together in order, skips a
 * delta seen twice, waits for the final bundle after a gap; the renderer follows its
 * answer's deltas and the final bundle replaces everything; the extension answers the
 * kernel's invite with a hello and follows answer comms.
 */

import { Sanitizer } from '@jupyterlab/apputils';
import { MimeModel } from '@jupyterlab/rendermime';
import { Widget } from '@lumino/widgets';
import { marked } from 'marked';

import { attachKernel, helloOnSubshell, IDelta, LiveStreams, TARGET } from '../deltas';
import { AnswerRenderer, IPayload, MIME_TYPE } from '../widget';

const delta = (seq: number, at: number, text: string, extra: Partial<IDelta> = {}): IDelta => ({
  seq,
  at,
  text,
  status_line: `● streaming · ${seq}`,
  ...extra
});

describe('LiveStreams', () => {
  it('applies deltas in order at their offsets and skips repeats', () => {
    const streams = new LiveStreams();
    const seen: string[] = [];
    streams.subscribe('a', { text: '' }, state => seen.push(state.text ?? ''));
    streams.open('a');
    streams.apply('a', delta(1, 0, 'Hello'));
    streams.apply('a', delta(1, 0, 'Hello')); // a second connection's copy
    streams.apply('a', delta(2, 5, ' wor'));
    streams.apply('a', delta(3, 9, 'ld 🌍', { r_at: 0, reasoning: 'hm' }));
    expect(seen).toEqual(['Hello', 'Hello wor', 'Hello world 🌍']);
    expect(streams.state('a')).toMatchObject({ reasoning: 'hm', statusLine: '● streaming · 3' });
  });

  it('stops following after a gap or an offset beyond the text', () => {
    const streams = new LiveStreams();
    const seen: string[] = [];
    streams.subscribe('a', { text: '' }, state => seen.push(state.text ?? ''));
    streams.apply('a', delta(1, 0, 'ab'));
    streams.apply('a', delta(3, 2, 'cd'));
    streams.apply('a', delta(4, 4, 'ef'));
    expect(seen).toEqual(['ab']);
    expect(streams.state('a')?.broken).toBe(true);
    const late = new LiveStreams();
    late.subscribe('b', { text: '' }, state => seen.push(state.text ?? ''));
    late.apply('b', delta(1, 7, 'xyz'));
    expect(late.state('b')?.broken).toBe(true);
  });

  it('forgets an answer once its comm closed and no view follows it', () => {
    const streams = new LiveStreams();
    const stop = streams.subscribe('a', { text: '' }, () => undefined);
    streams.open('a');
    streams.close('a');
    expect(streams.state('a')).toBeDefined();
    stop();
    expect(streams.state('a')).toBeUndefined();
  });
});

describe('the cell renderer with deltas', () => {
  it('shows the deltas, then the final bundle as it is', async () => {
    const streams = new LiveStreams();
    const renderer = new AnswerRenderer(
      {
        mimeType: MIME_TYPE,
        sanitizer: new Sanitizer(),
        resolver: null,
        linkHandler: null,
        latexTypesetter: null,
        markdownParser: { render: async (source: string) => marked.parse(source) }
      },
      { isRunning: () => true, stop: () => undefined },
      streams
    );
    Widget.attach(renderer, document.body);
    const model = (payload: IPayload): MimeModel =>
      new MimeModel({ data: { [MIME_TYPE]: payload as never } });
    await renderer.renderModel(
      model({ text: '', status: 'streaming', status_line: '● streaming', stream: 'id1' })
    );
    streams.open('id1');
    streams.apply('id1', delta(1, 0, '# Title\n\nSome'));
    streams.apply('id1', delta(2, 13, ' text'));
    await renderer.view.show(renderer.view.payload);
    expect(renderer.node.querySelector('h1')?.textContent).toContain('Title');
    expect(renderer.answer.node.textContent).toContain('Some text');
    expect(renderer.node.querySelector('.jp-nbstream-status')?.textContent).toBe(
      '● streaming · 2'
    );
    await renderer.renderModel(model({ text: 'Final *answer*', status: 'done', status_line: 'ok' }));
    streams.apply('id1', delta(3, 18, ' late'));
    await renderer.view.show(renderer.view.payload);
    expect(renderer.answer.node.textContent?.trim()).toBe('Final answer');
    expect(renderer.node.querySelector('h1')).toBeNull();
    renderer.dispose();
  });
});

describe('attachKernel', () => {
  it('says hello to an invite (twice if it listens) and follows an answer comm', async () => {
    const targets: Record<string, (comm: any, msg: any) => void> = {};
    const kernel = {
      ...fakeKernel(true),
      registerCommTarget: (name: string, cb: (comm: any, msg: any) => void) => {
        targets[name] = cb;
      }
    };
    const streams = new LiveStreams();
    attachKernel(kernel as never, streams);
    attachKernel(kernel as never, streams); // once per connection
    const sent: unknown[] = [];
    targets[TARGET]({ send: (data: unknown) => sent.push(data) }, {
      content: { data: { kind: 'invite', version: 1 } }
    });
    expect(sent).toEqual([{ kind: 'hello', version: 1 }]);
    expect(kernel.log).toEqual([]); // no `listens`: an older kernel, no subshell hello
    targets[TARGET]({ send: (data: unknown) => sent.push(data) }, {
      content: { data: { kind: 'invite', version: 1, listens: true } }
    });
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(kernel.log.map((entry: any[]) => entry[0])).toEqual([
      'create',
      'comm_open',
      'comm_close',
      'delete'
    ]);
    const comm: any = {};
    targets[TARGET](comm, { content: { data: { kind: 'answer', id: 'x' } } });
    comm.onMsg({ content: { data: delta(1, 0, 'hi') } });
    expect(streams.state('x')?.text).toBe('hi');
    comm.onClose({});
    expect(streams.state('x')).toBeUndefined();
    // The first piece may ride in the comm's opening.
    const second: any = {};
    targets[TARGET](second, {
      content: { data: { kind: 'answer', id: 'y', version: 1, ...delta(1, 0, 'first') } }
    });
    second.onMsg({ content: { data: delta(2, 5, ' second') } });
    expect(streams.state('y')?.text).toBe('first second');
  });
});

/** A kernel connection that records what is sent, with or without subshells. */
function fakeKernel(subshells: boolean, commsOverSubshells = 'perCommTarget'): any {
  const log: any[] = [];
  const done = (value: unknown = {}) => ({ done: Promise.resolve(value) });
  return {
    log,
    info: Promise.resolve({}),
    supportsSubshells: subshells,
    commsOverSubshells,
    clientId: 'client',
    username: 'user',
    requestCreateSubshell: () => {
      log.push(['create']);
      return done({ content: { subshell_id: 'sub1' } });
    },
    requestDeleteSubshell: (content: any) => {
      log.push(['delete', content.subshell_id]);
      return done();
    },
    sendShellMessage: (msg: any) => {
      log.push([msg.header.msg_type, msg.header.subshell_id, msg.content]);
      return done();
    }
  };
}

describe('helloOnSubshell', () => {
  it('opens a comm to the kernel target on a subshell of its own, then cleans up', async () => {
    const kernel = fakeKernel(true);
    await helloOnSubshell(kernel);
    const [create, open, close, del] = kernel.log;
    expect(create).toEqual(['create']);
    expect(open[0]).toBe('comm_open');
    expect(open[1]).toBe('sub1');
    expect(open[2]).toMatchObject({ target_name: TARGET, data: { kind: 'hello', version: 1 } });
    expect(close[0]).toBe('comm_close');
    expect(close[1]).toBe('sub1');
    expect(close[2].comm_id).toBe(open[2].comm_id);
    expect(del).toEqual(['delete', 'sub1']);
  });

  it('does nothing without subshells, or with comms over subshells turned off', async () => {
    for (const kernel of [fakeKernel(false), fakeKernel(true, 'disabled')]) {
      await helloOnSubshell(kernel);
      expect(kernel.log).toEqual([]);
    }
  });
});
