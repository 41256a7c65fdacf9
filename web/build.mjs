// Bundle the web map into ../src/lookout/web/static (committed, so pip users need no npm).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';

const out = '../src/lookout/web/static';
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: 'src/main.js' },
  bundle: true,
  minify: true,
  sourcemap: false,
  format: 'iife',
  target: ['chrome100', 'firefox100', 'safari15'],
  outdir: out,
  loader: { '.png': 'dataurl', '.svg': 'dataurl' },
  legalComments: 'eof',
  logLevel: 'info',
});
copyFileSync('src/index.html', `${out}/index.html`);
