/**
 * Copy, where `navigator.clipboard` exists and where it does not (plain http from
 * another host): the fallback selects a hidden textarea and runs `execCommand('copy')`.
 */

import { copyText } from '../clipboard';

type Writable = { clipboard?: { writeText(text: string): Promise<void> } };

const nav = navigator as unknown as Writable;
let copiedBySelection: string[];

beforeEach(() => {
  copiedBySelection = [];
  (document as unknown as { execCommand: (c: string) => boolean }).execCommand = (command: string) => {
    const area = document.querySelector('textarea') as HTMLTextAreaElement;
    copiedBySelection.push(`${command}:${area.value.slice(area.selectionStart, area.selectionEnd)}`);
    return true;
  };
});

afterEach(() => {
  delete nav.clipboard;
});

describe('copyText', () => {
  it('uses navigator.clipboard where there is one', async () => {
    const written: string[] = [];
    nav.clipboard = { writeText: async (text: string) => void written.push(text) };
    expect(await copyText('a = 1')).toBe(true);
    expect(written).toEqual(['a = 1']);
    expect(copiedBySelection).toEqual([]);
  });

  it('falls back to a selected textarea where there is none', async () => {
    delete nav.clipboard;
    expect(await copyText('x = 2\ny = 3')).toBe(true);
    expect(copiedBySelection).toEqual(['copy:x = 2\ny = 3']);
    expect(document.querySelector('textarea')).toBeNull();
  });

  it('falls back when the clipboard refuses, and says when nothing worked', async () => {
    nav.clipboard = { writeText: () => Promise.reject(new Error('denied')) };
    expect(await copyText('z')).toBe(true);
    expect(copiedBySelection).toEqual(['copy:z']);
    (document as unknown as { execCommand: () => boolean }).execCommand = () => false;
    expect(await copyText('z')).toBe(false);
  });
});
