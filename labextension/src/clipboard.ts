/**
 * Copy text, wherever the page runs. `navigator.clipboard` exists only in a secure
 * context (https, or http on localhost): JupyterLab served over plain http from another
 * host has none. There, the older way still works inside a click: select the text in
 * a hidden textarea and `execCommand('copy')`. The result says whether it worked, so
 * the button can say so.
 */
export async function copyText(text: string): Promise<boolean> {
  const clipboard = typeof navigator !== 'undefined' ? navigator.clipboard : undefined;
  if (clipboard?.writeText) {
    try {
      await clipboard.writeText(text);
      return true;
    } catch {
      // Denied (no permission, page not focused): try the other way.
    }
  }
  return copyWithSelection(text);
}

/** The fallback: a hidden textarea, selected, copied, removed. */
export function copyWithSelection(text: string): boolean {
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.setAttribute('aria-hidden', 'true');
  area.style.position = 'fixed';
  area.style.top = '0';
  area.style.left = '-9999px';
  area.style.opacity = '0';
  const active = document.activeElement as HTMLElement | null;
  document.body.append(area);
  area.select();
  let copied = false;
  try {
    copied = document.execCommand('copy');
  } catch {
    copied = false;
  }
  area.remove();
  active?.focus?.();
  return copied;
}
