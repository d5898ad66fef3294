/**
 * The string side of live rendering: where an answer is cut into blocks, and how its
 * unfinished tail is healed so that no raw syntax flashes while it streams.
 */

import {
  answerSource,
  closeOpenFence,
  hasFence,
  healTail,
  literalBlock,
  openFence,
  splitBlocks
} from '../markdown';
// The table tests/test_markdown.py runs against nbstream/_markdown.py, too.
import CASES from './markdown_cases.json';

describe('the fence rules shared with the kernel (markdown_cases.json)', () => {
  it.each(CASES.fences.map(row => [row.name, row]))('%s', (_name, row) => {
    expect(openFence(row.markdown)).toBe(row.open_fence);
    expect(closeOpenFence(row.markdown)).toBe(row.closed);
    expect(hasFence(row.markdown)).toBe(row.has_fence);
    // A live tail with an open fence is healed by closing it, as the saved answer is.
    if (row.open_fence !== null) {
      expect(healTail(row.markdown)).toBe(row.closed);
    }
  });

  it.each(CASES.literal_blocks.map(row => [row.name, row]))('%s', (_name, row) => {
    expect(literalBlock(row.text, row.info)).toBe(row.block);
  });
});

describe('splitBlocks', () => {
  it('cuts at blank lines followed by an unindented line', () => {
    expect(splitBlocks('# Title\n\nOne.\nStill one.\n\nTwo')).toEqual([
      '# Title',
      'One.\nStill one.',
      'Two'
    ]);
  });

  it('never cuts inside a code fence, even at blank lines', () => {
    const source = 'Look:\n\n```python\na = 1\n\nb = 2\n```\n\nAfter';
    expect(splitBlocks(source)).toEqual(['Look:', '```python\na = 1\n\nb = 2\n```', 'After']);
  });

  it('keeps an open fence and everything after it in the tail', () => {
    expect(splitBlocks('Intro\n\n~~~\nx\n\ny')).toEqual(['Intro', '~~~\nx\n\ny']);
  });

  it('keeps indented continuations with their list item', () => {
    expect(splitBlocks('- item\n\n  more of it\n\nNext')).toEqual([
      '- item\n\n  more of it',
      'Next'
    ]);
  });

  it('leaves a trailing blank line in the tail, so the tail is what comes next', () => {
    expect(splitBlocks('One\n\n')).toEqual(['One\n\n']);
    expect(splitBlocks('')).toEqual(['']);
  });
});

describe('healTail', () => {
  it.each([
    ['```python\nprint(1)', '```python\nprint(1)\n```'],
    ['````\ncode ```', '````\ncode ```\n````'],
    ['text\n``', 'text'],
    ['Some **bold', 'Some **bold**'],
    ['Some *it', 'Some *it*'],
    ['Some _it', 'Some _it_'],
    ['**bold *both', '**bold *both***'],
    ['**bold *both ', '**bold *both***'],
    ['Done **', 'Done '],
    ['a `code', 'a `code`'],
    ['a ``co`de', 'a ``co`de``'],
    ['a `', 'a '],
    ['~~gone', '~~gone~~'],
    ['see [docs](https://exa', 'see docs'],
    ['snake_case_name', 'snake_case_name'],
    ['* item\n* item two', '* item\n* item two'],
    ['**closed** and `code` and *it*', '**closed** and `code` and *it*'],
    ['2 * 3 = 6', '2 * 3 = 6'],
    ['escaped \\*star', 'escaped \\*star']
  ])('%j becomes %j', (tail, healed) => {
    expect(healTail(tail)).toBe(healed);
  });

  it('leaves a stray marker alone once far behind the live end', () => {
    const long = 'word '.repeat(40);
    expect(healTail(`a \`stray ${long}`)).toBe(`a \`stray ${long}`);
    expect(healTail(`a *stray ${long}`)).toBe(`a *stray ${long}`);
    expect(healTail(`a \`stray ${long}and **new`)).toBe(`a \`stray ${long}and **new**`);
  });

  it('looks only at the text after a closed fence', () => {
    expect(healTail('```\na*b\n```\nnow *it')).toBe('```\na*b\n```\nnow *it*');
  });
});

describe('answerSource', () => {
  it('shows markdown as it is, text and bare code as a literal block', () => {
    expect(answerSource('# hi', 'markdown')).toBe('# hi');
    expect(answerSource('<b>', 'text')).toBe('```text\n<b>\n```');
    expect(answerSource('x = 1', 'code')).toBe('```\nx = 1\n```');
    expect(answerSource('```py\nx\n```', 'code')).toBe('```py\nx\n```');
    expect(answerSource('', 'code')).toBe('');
  });

  it('picks a fence longer than any backtick run in the text', () => {
    expect(literalBlock('a ```` b')).toBe('`````\na ```` b\n`````');
  });
});

describe('healTail never links to half a URL', () => {
  it.each([
    ['![a](http://127.0.0.', 'a'],
    ['see ![a](http://127.0.0.1:8/leak?d=', 'see a'],
    ['see [docs](', 'see docs'],
    ['see [docs', 'see docs'],
    ['see ![chart', 'see chart'],
    ['a[0', 'a[0'],
    ['**see [docs](https://exa', '**see docs**'],
    ['visit https://example.org/pa', 'visit '],
    ['visit www.example.o', 'visit '],
    ['mail me@example.c', 'mail '],
    ['[r]: https://exa', ''],
    ['text\n[r]: https://exa', 'text\n'],
    ['code `https://exa', 'code `https://exa`'],
    ['[docs](https://example.org) and more', '[docs](https://example.org) and more'],
    ['visit https://example.org/ now', 'visit https://example.org/ now']
  ])('%j becomes %j', (tail, healed) => {
    expect(healTail(tail)).toBe(healed);
  });
});
