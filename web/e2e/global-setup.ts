// Starts the real API and worker from prebuilt binaries on a fresh database, and the
// console: served by the API itself when it does (TENTABO_CONSOLE_DIR), otherwise by
// `vite preview` proxying /api to it. Returns the teardown (stop both, drop the db).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const web = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const repo = path.dirname(web);

export const screenshotsDir = path.join(repo, 'target/e2e-screenshots');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function run(bin: string, args: string[], env: NodeJS.ProcessEnv): void {
  const r = spawnSync(bin, args, { env, encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`${path.basename(bin)} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
}

async function waitFor(url: string, ok: (r: Response) => boolean, timeoutMs: number, procs: ChildProcess[]): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    for (const p of procs) {
      if (p.exitCode !== null) throw new Error(`a process exited early (${p.exitCode}) while waiting for ${url}`);
    }
    try {
      const r = await fetch(url);
      if (ok(r)) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = String(e);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${url}: ${last}`);
}

function stop(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      resolve();
    }, 10_000);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    p.kill('SIGTERM');
  });
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  const apiBin = path.resolve(repo, process.env.TENTABO_API_BIN ?? 'target/debug/tentabo-api');
  const workerBin = path.resolve(repo, process.env.TENTABO_WORKER_BIN ?? 'target/debug/tentabo-worker');
  for (const b of [apiBin, workerBin]) if (!existsSync(b)) throw new Error(`missing binary ${b}`);

  const suffix = randomBytes(4).toString('hex');
  const db = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  db.pathname = `/tentabo_e2e_${suffix}`;
  const databaseUrl = db.toString();
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';

  const logs = path.join(repo, 'target/e2e-logs');
  mkdirSync(logs, { recursive: true });
  mkdirSync(screenshotsDir, { recursive: true });

  const common: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0',
    TENTABO_REDIS_NAMESPACE: `tentabo_e2e_${suffix}`,
    TENTABO_SECRETS_KEY: `e2e:${randomBytes(32).toString('base64')}`,
    RUST_LOG: process.env.RUST_LOG ?? 'warn',
  };
  run(apiBin, ['migrate', '--create-database'], common);
  run(apiBin, ['seed-demo'], common);

  const port = await freePort();
  const apiUrl = `http://127.0.0.1:${port}`;
  const dist = path.join(web, 'dist');
  const apiProc = spawn(apiBin, ['serve'], {
    env: {
      ...common,
      TENTABO_API_BIND: `127.0.0.1:${port}`,
      TENTABO_CONSOLE_DIR: dist,
      TENTABO_DEMO: 'true',
      TENTABO_COOKIE_SECURE: 'false',
      TENTABO_JWT_SECRET: randomBytes(36).toString('base64'),
      // The journeys sign in many times from one address.
      TENTABO_LOGIN_MAX_PER_IP: '1000',
    },
    stdio: ['ignore', openSync(path.join(logs, 'api.log'), 'w'), openSync(path.join(logs, 'api.err.log'), 'w')],
  });
  const workerProc = spawn(workerBin, ['run'], {
    env: { ...common, TENTABO_WORKER_METRICS_BIND: '127.0.0.1:0' },
    stdio: ['ignore', openSync(path.join(logs, 'worker.log'), 'w'), openSync(path.join(logs, 'worker.err.log'), 'w')],
  });
  let preview: ChildProcess | undefined;

  const teardown = async () => {
    await Promise.all([stop(preview), stop(apiProc), stop(workerProc)]);
    spawnSync('psql', [admin.toString(), '-q', '-c', `DROP DATABASE IF EXISTS "tentabo_e2e_${suffix}" WITH (FORCE)`], {
      stdio: 'ignore',
    });
    // The run's Redis keys (queues, worker registrations) go too.
    const redis = String(common.REDIS_URL);
    const keys = spawnSync('redis-cli', ['-u', redis, '--scan', '--pattern', `${common.TENTABO_REDIS_NAMESPACE}:*`], { encoding: 'utf8' });
    const list = (keys.stdout ?? '').split('\n').filter(Boolean);
    for (let i = 0; i < list.length; i += 500) {
      spawnSync('redis-cli', ['-u', redis, 'DEL', ...list.slice(i, i + 500)], { stdio: 'ignore' });
    }
  };

  try {
    await waitFor(`${apiUrl}/readyz`, (r) => r.status === 200, 60_000, [apiProc, workerProc]);
    // Does the API serve the console itself?
    const home = await fetch(`${apiUrl}/`).then(async (r) => (r.ok ? r.text() : ''), () => '');
    let baseUrl = apiUrl;
    if (!home.includes('id="root"')) {
      const previewPort = await freePort();
      preview = spawn(
        path.join(web, 'node_modules/.bin/vite'),
        ['preview', '--host', '127.0.0.1', '--port', String(previewPort), '--strictPort'],
        {
          cwd: web,
          env: { ...process.env, TENTABO_API_URL: apiUrl },
          stdio: ['ignore', openSync(path.join(logs, 'preview.log'), 'w'), 'inherit'],
        },
      );
      baseUrl = `http://127.0.0.1:${previewPort}`;
      await waitFor(`${baseUrl}/`, (r) => r.ok, 30_000, [preview]);
    }
    process.env.E2E_BASE_URL = baseUrl;
    process.env.E2E_API_URL = apiUrl;
    process.env.E2E_DATABASE_URL = databaseUrl;
    process.env.E2E_SCREENSHOTS = screenshotsDir;
    console.log(`e2e: API ${apiUrl}, console ${baseUrl}, database ${db.pathname.slice(1)}`);
  } catch (e) {
    await teardown();
    throw e;
  }
  return teardown;
}
