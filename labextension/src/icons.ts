/**
 * The buttons' icons as inline SVG (Material Design shapes, as JupyterLab's own), so the
 * same view draws the same buttons in a cell and in a chat outside JupyterLab, where
 * JupyterLab's icon registry is not there.
 */

const PATHS = {
  copy: 'M16 1H4c-1.1 0-2 .9-2 2v14h2V3h12V1zm3 4H8c-1.1 0-2 .9-2 2v14c0 1.1.9 2 2 2h11c1.1 0 2-.9 2-2V7c0-1.1-.9-2-2-2zm0 16H8V7h11v14z',
  stop: 'M6 6h12v12H6z',
  insert: 'M19 13h-6v6h-2v-6H5v-2h6V5h2v6h6v2z',
  done: 'M9 16.17L4.83 12l-1.42 1.41L9 19 21 7l-1.41-1.41z'
};

export type IconName = keyof typeof PATHS;

const SVG = 'http://www.w3.org/2000/svg';

export function icon(name: IconName): HTMLElement {
  const span = document.createElement('span');
  span.className = 'jp-nbstream-icon';
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', PATHS[name]);
  path.setAttribute('fill', 'currentColor');
  svg.append(path);
  span.append(svg);
  return span;
}
