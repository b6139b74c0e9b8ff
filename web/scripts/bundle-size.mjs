// Prints the gzipped size of the JavaScript the first screen loads (the entry chunk and
// its static imports, as index.html references them) and fails over the budget.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BUDGET = 250 * 1024;
const dist = path.join(path.dirname(path.dirname(fileURLToPath(import.meta.url))), 'dist');
const html = readFileSync(path.join(dist, 'index.html'), 'utf8');
const initial = [
  ...html.matchAll(/<script[^>]+src="([^"]+\.js)"/g),
  ...html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="([^"]+\.js)"/g),
].map((m) => m[1]);
let total = 0;
for (const src of new Set(initial)) {
  const file = path.join(dist, src.replace(/^\//, ''));
  const size = gzipSync(readFileSync(file), { level: 9 }).length;
  total += size;
  console.log(`  ${src}  ${(size / 1024).toFixed(1)} KB gzipped`);
}
const kb = (total / 1024).toFixed(1);
if (total > BUDGET) {
  console.error(`Initial JS: ${kb} KB gzipped — over the ${BUDGET / 1024} KB budget.`);
  process.exit(1);
}
console.log(`Initial JS: ${kb} KB gzipped (budget ${BUDGET / 1024} KB).`);
