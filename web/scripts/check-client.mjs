// Fails when src/api/schema.d.ts is not what openapi-typescript makes of openapi.json.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const committed = path.join(root, 'src/api/schema.d.ts');
const fresh = path.join(root, '.schema-check.d.ts');
const bin = path.join(root, 'node_modules/.bin/openapi-typescript');

try {
  execFileSync(bin, [path.join(root, 'openapi.json'), '-o', fresh], { stdio: ['ignore', 'ignore', 'inherit'] });
  const a = readFileSync(committed, 'utf8');
  const b = readFileSync(fresh, 'utf8');
  if (a !== b) {
    const al = a.split('\n');
    const bl = b.split('\n');
    const i = al.findIndex((line, n) => line !== bl[n]);
    console.error('src/api/schema.d.ts is out of date with openapi.json.');
    console.error(`First difference at line ${i + 1}:`);
    console.error(`  committed: ${al[i] ?? '<end of file>'}`);
    console.error(`  generated: ${bl[i] ?? '<end of file>'}`);
    console.error('Run `npm run gen:client` and commit the result (see `git diff src/api/schema.d.ts`).');
    process.exit(1);
  }
  console.log('API client is up to date with openapi.json.');
} finally {
  rmSync(fresh, { force: true });
}
