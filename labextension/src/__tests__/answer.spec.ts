/**
 * The answer view's buttons say what they did, for a moment; a button whose action is
 * missing is not there.
 */

import { AnswerView, CONFIRM_MS, IAnswerActions } from '../answer';
import { standaloneMarkdown } from '../standalone';

const ANSWER = 'Try:\n\n```python\nprint(1)\n```';

function view(actions: IAnswerActions): AnswerView {
  const answer = new AnswerView(standaloneMarkdown, actions);
  document.body.append(answer.node);
  return answer;
}

const label = (button: Element | null): string =>
  button?.querySelector('.jp-nbstream-label')?.textContent ?? '';

afterEach(() => {
  jest.useRealTimers();
  document.body.replaceChildren();
});

describe('button confirmations', () => {
  it('Copy says "Copied", then reads "Copy" again', async () => {
    const copied: string[] = [];
    const answer = view({ copy: text => copied.push(text) > 0 });
    await answer.show({ text: ANSWER, status: 'done' });
    jest.useFakeTimers();
    const copy = answer.node.querySelector<HTMLButtonElement>('.jp-nbstream-copy')!;
    copy.click();
    await Promise.resolve();
    await Promise.resolve();
    expect(label(copy)).toBe('Copied');
    expect(copy.dataset.confirm).toBe('ok');
    jest.advanceTimersByTime(CONFIRM_MS + 10);
    expect(label(copy)).toBe('Copy');
    expect(copy.dataset.confirm).toBeUndefined();
    expect(copied).toEqual([ANSWER]);
  });

  it('a code block\'s Copy and Insert below confirm too; a failed copy says so', async () => {
    const inserted: string[] = [];
    const answer = view({ copy: () => false, insertBelow: (_node, code) => void inserted.push(code) });
    await answer.show({ text: ANSWER, status: 'done' });
    const insert = answer.node.querySelector<HTMLButtonElement>('.jp-nbstream-insert')!;
    const copy = answer.node.querySelector<HTMLButtonElement>('.jp-nbstream-copy-code')!;
    insert.click();
    copy.click();
    await Promise.resolve();
    await Promise.resolve();
    expect(inserted).toEqual(['print(1)']);
    expect(label(insert)).toBe('Inserted');
    expect(label(copy)).toBe('Copy failed');
    expect(copy.dataset.confirm).toBe('failed');
  });

  it('has no Insert below and no Stop where nothing can do them', async () => {
    const answer = view({ copy: () => true });
    await answer.show({ text: ANSWER, status: 'streaming' });
    expect(answer.node.querySelector('.jp-nbstream-insert')).toBeNull();
    expect(answer.node.querySelector<HTMLButtonElement>('.jp-nbstream-stop')!.hidden).toBe(true);
    expect(answer.node.querySelector('.jp-nbstream-copy-code')).not.toBeNull();
  });
});
