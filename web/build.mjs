// build.mjs — builds the portal into dist/ with esbuild (offline): an ES
// module bundle split into chunks (charts and map load after first paint),
// index.html, and the world-atlas TopoJSON used by the maps.
import { build } from 'esbuild';
import { mkdir, copyFile, readFile, writeFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const out = new URL('./dist/', import.meta.url).pathname;
await rm(out, { recursive: true, force: true });
await mkdir(`${out}assets`, { recursive: true });
const res = await build({
  entryPoints: ['src/main.js'], bundle: true, splitting: true, format: 'esm', minify: true,
  target: ['es2022'], outdir: `${out}assets`, entryNames: '[name]', chunkNames: 'chunk-[hash]',
  metafile: true, legalComments: 'linked', logLevel: 'warning',
});
await copyFile(require.resolve('world-atlas/countries-110m.json'), `${out}assets/countries-110m.json`);
await copyFile('src/style.css', `${out}assets/style.css`);
const html = await readFile('index.html', 'utf8');
await writeFile(`${out}index.html`, html);
let total = 0;
for (const [f, o] of Object.entries(res.metafile.outputs)) if (f.endsWith('.js')) total += o.bytes;
console.log(`portal built into web/dist (${(total / 1024).toFixed(0)} KiB of JavaScript)`);
