// Builds the chat widget's ES module and style (nbstream/static/chat.js, chat.css), and
// the small scripts of live cells in widget hosts (probe.js, answer.js), from
// the same sources as the JupyterLab extension (src/chat.ts, style/widget.css), with
// esbuild. Everything is bundled — marked, DOMPurify, KaTeX and its fonts (woff2 only,
// as data: URLs) — so the widget loads nothing from the network, anywhere.
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';

const production = process.argv.includes('--production');
const outdir = '../nbstream/static';

// KaTeX's @font-face rules list woff2, woff and ttf files; every browser that runs the
// widget reads woff2, so only those are inlined (about 300 KB instead of 1.2 MB).
const woff2Only = {
  name: 'katex-woff2-only',
  setup(b) {
    b.onLoad({ filter: /katex[\\/]dist[\\/]katex\.css$/ }, async args => {
      const css = await readFile(args.path, 'utf8');
      const stripped = css.replace(
        /,\s*url\([^)]*\.woff\)\s*format\(["']woff["']\)|,\s*url\([^)]*\.ttf\)\s*format\(["']truetype["']\)/g,
        ''
      );
      if (/\.(woff|ttf)\)/.test(stripped)) {
        throw new Error('katex.css: a font other than woff2 is still referenced');
      }
      return { contents: stripped, loader: 'css' };
    });
  }
};

await build({
  entryPoints: { chat: 'src/chat.ts' },
  outdir,
  bundle: true,
  format: 'esm',
  target: 'es2020',
  minify: production,
  legalComments: production ? 'eof' : 'inline',
  sourcemap: false,
  logLevel: 'warning'
});

// The two small scripts of live cells in widget hosts (src/probe.ts, src/loader.ts): sent
// with every kernel and every answer, so minified always (a few hundred bytes each).
await build({
  entryPoints: { probe: 'src/probe.ts', answer: 'src/loader.ts' },
  outdir,
  bundle: true,
  format: 'esm',
  target: 'es2020',
  minify: true,
  legalComments: 'none',
  sourcemap: false,
  logLevel: 'warning'
});

await build({
  entryPoints: { chat: 'style/widget.css' },
  outdir,
  bundle: true,
  minify: production,
  loader: { '.woff2': 'dataurl' },
  plugins: [woff2Only],
  logLevel: 'warning'
});
