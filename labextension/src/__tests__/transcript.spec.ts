/**
 * The saved transcript stands in for a chat widget that cannot be shown, and hides itself
 * while the live widget is there.
 */

import { Sanitizer } from '@jupyterlab/apputils';
import { MimeModel } from '@jupyterlab/rendermime';
import { Widget } from '@lumino/widgets';
import { marked } from 'marked';

import { TRANSCRIPT_MIME_TYPE, TranscriptRenderer } from '../transcript';

function outputArea(widgetText: string): { area: HTMLElement; widget: HTMLElement; child: HTMLElement } {
  const area = document.createElement('div');
  area.className = 'jp-OutputArea';
  const widget = document.createElement('div');
  widget.className = 'jp-OutputArea-child';
  const output = document.createElement('div');
  output.className = 'jp-OutputArea-output';
  output.textContent = widgetText;
  widget.append(output);
  const child = document.createElement('div');
  child.className = 'jp-OutputArea-child';
  area.append(widget, child);
  document.body.append(area);
  return { area, widget, child };
}

const TURNS = [
  {
    role: 'user',
    content: 'Hi <b>there</b>',
    images: [{ label: '[image: PNG, 4×3 px, 70 bytes]', src: 'data:image/png;base64,iVBORw0KGgo=' }]
  },
  { role: 'assistant', content: 'Hello **you** [x](javascript:alert(1))', status: 'done', stats: 'm · 3 tokens' }
];

async function transcript(host: HTMLElement): Promise<TranscriptRenderer> {
  const renderer = new TranscriptRenderer(
    {
      mimeType: TRANSCRIPT_MIME_TYPE,
      sanitizer: new Sanitizer(),
      resolver: null,
      linkHandler: null,
      latexTypesetter: null,
      markdownParser: { render: async (source: string) => marked.parse(source) }
    },
    { copy: () => true }
  );
  Widget.attach(renderer, host);
  await renderer.renderModel(
    new MimeModel({ data: { [TRANSCRIPT_MIME_TYPE]: { model: 'openai:m', turns: TURNS } as never } })
  );
  await new Promise(resolve => setTimeout(resolve, 50));
  return renderer;
}

afterEach(() => document.body.replaceChildren());

describe('the saved transcript', () => {
  it('shows images as placeholder lines and loads no picture', async () => {
    const { child } = outputArea('Error displaying widget: model not found');
    await transcript(child);
    expect(child.querySelector('img')).toBeNull();
    expect(child.querySelector('.nbstream-chat-image-label')?.textContent).toBe('[image: PNG, 4×3 px, 70 bytes]');
  });

  it('shows the conversation in place of a widget that cannot be shown', async () => {
    const { widget, child } = outputArea('Error displaying widget: model not found');
    const renderer = await transcript(child);
    expect(widget.classList).toContain('jp-nbstream-hidden');
    expect(child.classList).not.toContain('jp-nbstream-hidden');
    const text = renderer.node.textContent ?? '';
    expect(text).toContain('Hi <b>there</b>');
    expect(renderer.node.querySelector('.nbstream-chat-assistant strong')?.textContent).toBe('you');
    expect(renderer.node.querySelector('a[href^="javascript"]')).toBeNull();
    expect(renderer.node.querySelector('.jp-nbstream-status')?.textContent).toBe('m · 3 tokens');
  });

  it("stands in for the chat's repr where the widget is not rendered (untrusted)", async () => {
    const { widget, child } = outputArea("Chat(model='m', messages=0)");
    await transcript(child);
    expect(widget.classList).toContain('jp-nbstream-hidden');
    expect(child.classList).not.toContain('jp-nbstream-hidden');
  });

  it('leaves other text above it alone', async () => {
    const { widget, child } = outputArea('printed by the cell');
    await transcript(child);
    expect(widget.classList).not.toContain('jp-nbstream-hidden');
    expect(child.classList).not.toContain('jp-nbstream-hidden');
  });

  it('hides itself once the live widget is there, and comes back when it goes', async () => {
    const { widget, child } = outputArea('Loading widget...');
    await transcript(child);
    expect(widget.classList).toContain('jp-nbstream-hidden');
    const live = document.createElement('div');
    live.className = 'nbstream-chat';
    widget.querySelector('.jp-OutputArea-output')!.replaceChildren(live);
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(child.classList).toContain('jp-nbstream-hidden');
    expect(widget.classList).not.toContain('jp-nbstream-hidden');
    live.remove();
    widget.querySelector('.jp-OutputArea-output')!.textContent = 'Error displaying widget: model not found';
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(child.classList).not.toContain('jp-nbstream-hidden');
    expect(widget.classList).toContain('jp-nbstream-hidden');
  });
});
