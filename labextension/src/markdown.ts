/**
 * Pure string work on a streamed answer's Markdown: where it can be cut into blocks that
 * will not change any more, and how to "heal" the unfinished tail so that it renders as
 * what it is becoming instead of flashing raw syntax.
 *
 * Why blocks: JupyterLab re-renders a whole Markdown output on every update, which costs
 * O(n²) over an answer and re-highlights every code block 20 times a second. A blank
 * line outside a code fence, followed by a line that is not indented, ends a block whose
 * rendering cannot be changed by anything written after it (in practice — the rare
 * exceptions, such as a reference link defined later, are fixed by the final full
 * render). So only the last block is rendered again while the answer grows.
 */

/**
 * The fence rules (CommonMark's) are the same as nbstream/_markdown.py's, and both are
 * run against one table of cases, src/__tests__/markdown_cases.json, so the live answer
 * and the saved one agree on where code starts and ends.
 */
const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;

/** The fence that is still open at the end of `lines`, or null. */
function openFenceOf(lines: string[]): string | null {
  let opener: string | null = null;
  for (const line of lines) {
    const match = FENCE.exec(line);
    if (!match) {
      continue;
    }
    const fence = match[1];
    if (opener === null) {
      // An opening backtick fence cannot have backticks in its info string.
      if (fence[0] === '`' && match[2].includes('`')) {
        continue;
      }
      opener = fence;
    } else if (
      fence[0] === opener[0] &&
      fence.length >= opener.length &&
      /^[ \t]*$/.test(match[2])
    ) {
      // Only spaces or tabs may follow a closing fence: "```python" opens, never closes.
      opener = null;
    }
  }
  return opener;
}

/** The fence (its run of backticks or tildes) still open at the end of `source`, or null. */
export function openFence(source: string): string | null {
  return openFenceOf(source.split('\n'));
}

/** `source` with a code fence left open closed by the same run. */
export function closeOpenFence(source: string): string {
  const fence = openFence(source);
  if (fence === null) {
    return source;
  }
  return source + (source.endsWith('\n') ? '' : '\n') + fence;
}

/** Whether any line of `text` looks like a fence. */
export function hasFence(text: string): boolean {
  return text.split('\n').some(line => FENCE.test(line));
}

/**
 * Cut `source` into top-level blocks. Joining them with '\n\n'-like separators is not
 * needed: each block keeps its own text, and the last one is the live tail.
 */
export function splitBlocks(source: string): string[] {
  const lines = source.split('\n');
  const blocks: string[] = [];
  let current: string[] = [];
  let fence: string | null = null;
  let previousBlank = false;
  for (const line of lines) {
    const blank = line.trim() === '';
    if (
      fence === null &&
      previousBlank &&
      !blank &&
      !/^[ \t]/.test(line) &&
      current.some(l => l.trim() !== '')
    ) {
      blocks.push(current.join('\n').replace(/\n+$/, ''));
      current = [];
    }
    current.push(line);
    if (FENCE.test(line)) {
      fence = openFenceOf(current);
    }
    previousBlank = blank && fence === null;
  }
  blocks.push(current.join('\n'));
  return blocks;
}

/** A fenced block holding `text` whose fence cannot occur inside it. */
export function literalBlock(text: string, info = ''): string {
  const runs = text.match(/`+/g) ?? [];
  const longest = Math.max(0, ...runs.map(run => run.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${info}\n${text}\n${fence}`;
}

/** The Markdown to show for an answer in the given `--format`. */
export function answerSource(text: string, format: string): string {
  if (!text) {
    return '';
  }
  if (format === 'text') {
    return literalBlock(text, 'text');
  }
  if (format === 'code' && !hasFence(text)) {
    return literalBlock(text);
  }
  return text;
}

/**
 * Make the unfinished end of a block render as what it is becoming: close an open code
 * fence, drop a half-typed fence marker, close inline code and emphasis that were
 * opened, drop a marker that has nothing after it yet, and show a link whose target is
 * still arriving as plain text (never as a link to half a URL).
 */
export function healTail(block: string): string {
  const lines = block.split('\n');
  const last = lines[lines.length - 1];
  // `` or ~~ alone at the start of the last line may be the start of a fence.
  if (lines.length > 1 && /^ {0,3}(`{1,2}|~{1,2})$/.test(last)) {
    lines.pop();
    return healTail(lines.join('\n'));
  }
  if (openFence(block) !== null) {
    return closeOpenFence(block);
  }
  return healInline(block);
}

interface IMarker {
  text: string;
  index: number;
}

/**
 * Only markers opened this close to the end are healed. Code spans and emphasis are
 * short; a marker left open longer than this is most likely a stray character, which
 * the final rendering shows as literal text — healing it would restyle a whole
 * paragraph that then snaps back.
 */
const HEAL_WINDOW = 120;

const WORD = /[\p{L}\p{N}]/u;
const SPACE = /\s/;

/** Close what the last paragraph left open (code spans, emphasis); unlink half links. */
function healInline(block: string): string {
  const stack = openMarkers(block);
  if (!stack.some(marker => marker.text[0] === '`')) {
    const cut = withoutUnfinishedLinks(block);
    if (cut !== block) {
      return healInline(cut);
    }
  }
  let healed = block;
  const closers: string[] = [];
  for (let k = stack.length - 1; k >= 0; k--) {
    const marker = stack[k];
    if (healed.length - marker.index > HEAL_WINDOW) {
      continue;
    }
    const after = healed.slice(marker.index + marker.text.length);
    if (after.trim() === '') {
      healed = healed.slice(0, marker.index) + after;
    } else {
      closers.push(marker.text);
    }
  }
  if (closers.length) {
    healed = healed.replace(/\s+$/, '') + closers.join('');
  }
  return healed;
}

/** The code span and emphasis markers the last paragraph of `block` leaves open. */
function openMarkers(block: string): IMarker[] {
  let start = block.lastIndexOf('\n\n') + 1;
  const fenceLines = [...block.matchAll(/^ {0,3}(`{3,}|~{3,}).*$/gm)];
  if (fenceLines.length) {
    const lastFence = fenceLines[fenceLines.length - 1];
    start = Math.max(start, (lastFence.index ?? 0) + lastFence[0].length);
  }
  const stack: IMarker[] = [];
  let i = start;
  while (i < block.length) {
    const char = block[i];
    if (char === '\\') {
      i += 2;
      continue;
    }
    if (char === '`') {
      let end = i;
      while (block[end] === '`') {
        end++;
      }
      const run = block.slice(i, end);
      const close = block.indexOf(run, end);
      if (close === -1 && block.length - i <= HEAL_WINDOW) {
        stack.push({ text: run, index: i });
        break;
      }
      if (close === -1) {
        // Long open: a stray backtick, literal text (as it will be in the end).
        i = end;
        continue;
      }
      i = close + run.length;
      continue;
    }
    if (char === '*' || char === '_' || char === '~') {
      let end = i;
      while (block[end] === char) {
        end++;
      }
      const run = block.slice(i, end);
      const before = i > 0 ? block[i - 1] : ' ';
      const after = end < block.length ? block[end] : ' ';
      i = end;
      if (char === '~' && run.length !== 2) {
        continue;
      }
      if (char === '_' && WORD.test(before) && WORD.test(after)) {
        continue;
      }
      const top = stack[stack.length - 1];
      if (top && top.text === run && !SPACE.test(before)) {
        stack.pop();
      } else if (!SPACE.test(after) || end === block.length) {
        // `***x` opens both, remembered as one marker. At the very end, a marker may
        // still become an opener: it is dropped below rather than shown raw.
        stack.push({ text: run, index: i - run.length });
      }
      continue;
    }
    i++;
  }
  return stack;
}

/** `[label](target`, `![alt](target` at the end, the target not closed yet. */
const OPEN_TARGET = /(!?)\[([^\]\n]*)\]\([^)\n]*$/;
/** `[label` or `![alt` at the end, the label not closed yet (`a[0` is not a label). */
const OPEN_LABEL = /(?<=^|[\s(*_~])!?\[([^\]\n]*)$/;
/** A bare URL or e-mail address still arriving at the very end (GFM autolinks it). */
const OPEN_AUTOLINK = /(?:\b[a-z][a-z0-9+.-]*:\/\/|\bwww\.|\bmailto:|[^\s@`]+@)[^\s`]*$/i;
/** A link reference definition on the last line: its target may be cut short. */
const OPEN_DEFINITION = /(^|\n) {0,3}\[[^\]\n]+\]:[^\n]*$/;

/**
 * A link or image is shown as plain text until its target is complete, so no frame
 * holds an href or src that differs from the final answer's (`![a](http://127.0.0.`
 * must never request `http://127.0.0.0/`): an unfinished `[label](target` shows as
 * its label, an unfinished `[label` as the label, a URL or address still arriving at
 * the end is left out until a space follows it, and a half-written reference
 * definition is dropped (definitions show nothing anyway). Not called when the tail is
 * in an open code span, where nothing links.
 */
function withoutUnfinishedLinks(block: string): string {
  let text = block;
  const definition = OPEN_DEFINITION.exec(text);
  if (definition) {
    text = text.slice(0, definition.index + definition[1].length);
  }
  const target = OPEN_TARGET.exec(text);
  if (target) {
    return text.slice(0, target.index) + target[2];
  }
  const label = OPEN_LABEL.exec(text);
  if (label && text.length - label.index <= HEAL_WINDOW) {
    text = text.slice(0, label.index) + label[1];
  }
  const url = OPEN_AUTOLINK.exec(text);
  if (url) {
    text = text.slice(0, url.index);
  }
  return text;
}
