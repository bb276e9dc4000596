/**
 * Models from the Hub (`--model org/name[@revision]`, `dcformer download`) against a local HTTP
 * server that answers in the Hub's URL layout and with its headers (/org/name/resolve/<rev>/<file>;
 * LFS files redirect to a CDN URL with X-Linked-Etag = sha256 and X-Linked-Size; small files carry a
 * git-sha1 ETag; every answer names X-Repo-Commit). No test here reaches the internet. Run on the
 * built bin, as a user would.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  cpSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initModel, resolveConfig } from '@dcformer/model';
import { saveModel } from '@dcformer/model/node';
import { removeTempDirs, tempDir } from './test-support.js';

const APP_DIR = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(APP_DIR, 'dist', 'cli.js');
const BYTE_TOKENIZER = createRequire(import.meta.url).resolve('@dcformer/tokenizer/assets/byte-level/tokenizer.json');
const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const LFS = /\.(safetensors|bin)$/;
const SHARDED = fileURLToPath(new URL('../../../fixtures/oracle/case4_dcpythia/torch_sharded/', import.meta.url));

let model: string;
let server: Server;
let endpoint: string;
const files = new Map<string, Buffer>();
/** A second repository, org/sharded: PyTorch shards with their index (oracle case 4). */
const sharded = new Map<string, Buffer>();
const log: { method: string; url: string; range?: string }[] = [];
const faults = { cutAfter: 0, corrupt: false };

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const gitSha1 = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

/** The Hub's resolve endpoint and its CDN, for one repository `org/tiny`. */
function hub(): Server {
  return createServer((req, res) => {
    log.push({ method: req.method!, url: req.url!, range: req.headers.range });
    const resolve = /^\/org\/(tiny|sharded)\/resolve\/([^/]+)\/([^/?]+)$/.exec(req.url!);
    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(req.url!);
    const renamed = /^\/old\/tiny(\/resolve\/.*)$/.exec(req.url!);
    // a renamed repository: the Hub redirects (relative URL) to its new name
    if (renamed) return void res.writeHead(307, { Location: `/org/tiny${renamed[1]}`, 'Content-Length': '0' }).end();
    if (resolve) {
      const [, repo, revision, name] = resolve;
      const body = (repo === 'tiny' ? files : sharded).get(name);
      if (revision !== 'main' && revision !== COMMIT)
        return void res.writeHead(404, { 'X-Error-Code': 'RevisionNotFound' }).end();
      if (body === undefined)
        return void res.writeHead(404, { 'X-Error-Code': 'EntryNotFound', 'X-Repo-Commit': COMMIT }).end();
      if (LFS.test(name)) {
        const h = sha256(body);
        return void res
          .writeHead(302, {
            Location: `/cdn/${h}`,
            'X-Linked-Etag': `"${h}"`,
            'X-Linked-Size': String(body.length),
            ETag: `"${h}"`,
            'X-Repo-Commit': COMMIT,
            'Content-Length': '0',
          })
          .end();
      }
      res.writeHead(200, {
        ETag: `"${gitSha1(body)}"`,
        'X-Repo-Commit': COMMIT,
        'Content-Length': String(body.length),
      });
      return void res.end(req.method === 'HEAD' ? undefined : body);
    }
    if (cdn) {
      const body = [...files.values(), ...sharded.values()].find((b) => sha256(b) === cdn[1]);
      if (body === undefined) return void res.writeHead(404).end();
      let served = faults.corrupt ? Buffer.from(body.map((x, i) => (i === 100 ? x ^ 0xff : x))) : body;
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (range) {
        const start = Number(range[1]);
        served = served.subarray(start);
        res.writeHead(206, {
          'Content-Length': String(served.length),
          'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}`,
        });
      } else {
        res.writeHead(200, { 'Content-Length': String(served.length) });
      }
      if (faults.cutAfter > 0 && !range) {
        // the connection drops part-way, as a flaky network does
        res.write(served.subarray(0, faults.cutAfter));
        setTimeout(() => res.destroy(), 300);
        return;
      }
      return void res.end(served);
    }
    res.writeHead(404).end();
  });
}

beforeAll(async () => {
  if (!existsSync(CLI)) execFileSync('npx', ['tsup'], { cwd: APP_DIR, stdio: 'ignore' });
  await tf.setBackend('cpu');
  model = await tempDir();
  const config = resolveConfig({
    family: 'dcformer',
    dim: 32,
    nHead: 4,
    nLayer: 2,
    vocabSize: 257,
    blockSize: 16,
    windowSize: 8,
    windowType: 'LG',
    useQkNorm: true,
    qChunkSize: 16,
    intermediateSize: 64,
  });
  const m = initModel(config, 1);
  await saveModel(m, model);
  m.dispose();
  writeFileSync(join(model, 'tokenizer.json'), readFileSync(BYTE_TOKENIZER));
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) files.set(f, readFileSync(join(model, f)));
  for (const f of readdirSync(SHARDED)) sharded.set(f, readFileSync(join(SHARDED, f)));
  server = hub();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await removeTempDirs();
});

/** Runs the bin in `cwd` (where no folder `org/tiny` exists) against the local Hub. */
function dcformer(
  args: string[],
  home: string,
  cwd: string,
  extraEnv: Record<string, string> = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // spawn, not spawnSync: the server lives in this process and must answer meanwhile
    const p = spawn(CLI, args, {
      cwd,
      env: {
        ...process.env,
        DCF_DEBUG: '',
        HF_HOME: home,
        HF_ENDPOINT: endpoint,
        HF_HUB_CACHE: '',
        HF_HUB_OFFLINE: '',
        ...extraEnv,
      },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('models from the Hub (local server)', () => {
  let home: string;
  let cwd: string;
  beforeAll(async () => {
    home = await tempDir();
    cwd = await tempDir();
  });

  it('dcformer download: the HF cache layout (refs, blobs, snapshot links), then --model org/tiny runs from it', async () => {
    const r = await dcformer(['download', 'org/tiny', '--json'], home, cwd);
    expect(r.status, r.stderr).toBe(0);
    const repo = join(home, 'hub', 'models--org--tiny');
    const snapshot = join(repo, 'snapshots', COMMIT);
    expect(JSON.parse(r.stdout)).toMatchObject({
      path: snapshot,
      commit: COMMIT,
      files: ['config.json', 'tokenizer.json', 'model.safetensors'],
    });
    expect(readFileSync(join(repo, 'refs', 'main'), 'utf8')).toBe(COMMIT);
    const weights = files.get('model.safetensors')!;
    expect(lstatSync(join(snapshot, 'model.safetensors')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(snapshot, 'model.safetensors'))).toBe(`../../blobs/${sha256(weights)}`);
    expect(readlinkSync(join(snapshot, 'config.json'))).toBe(`../../blobs/${gitSha1(files.get('config.json')!)}`);
    expect(readdirSync(join(repo, 'blobs')).filter((f) => f.endsWith('.incomplete'))).toEqual([]);

    log.length = 0;
    const viaHub = await dcformer(
      ['generate', '--model', 'org/tiny', '--prompt', 'Hi', '--max-new-tokens', '6', '--json', '--backend', 'cpu'],
      home,
      cwd,
    );
    expect(viaHub.status, viaHub.stderr).toBe(0);
    expect(log.filter((l) => l.url.startsWith('/cdn/'))).toEqual([]); // the weights came from the cache
    const local = await dcformer(
      ['generate', '--model', model, '--prompt', 'Hi', '--max-new-tokens', '6', '--json', '--backend', 'cpu'],
      home,
      cwd,
    );
    expect(JSON.parse(viaHub.stdout).ids).toEqual(JSON.parse(local.stdout).ids);
    expect(viaHub.stderr).toContain(`--model org/tiny: the Hugging Face model at commit ${COMMIT.slice(0, 10)}`);
  });

  it('HF_HUB_OFFLINE=1 uses the cache and sends nothing; an uncached model is then an error', async () => {
    log.length = 0;
    const r = await dcformer(
      ['generate', '--model', 'org/tiny@main', '--prompt', 'Hi', '--max-new-tokens', '2', '--backend', 'cpu'],
      home,
      cwd,
      { HF_HUB_OFFLINE: '1' },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(log).toEqual([]);
    const missing = await dcformer(['generate', '--model', 'org/other', '--prompt', 'Hi'], home, cwd, {
      HF_HUB_OFFLINE: '1',
    });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/org\/other@main is not in the Hugging Face cache .* and HF_HUB_OFFLINE is set/);
  });

  it('an interrupted download resumes with a Range request and completes', async () => {
    const fresh = await tempDir();
    faults.cutAfter = 100_000;
    const first = await dcformer(['download', 'org/tiny'], fresh, cwd);
    faults.cutAfter = 0;
    expect(first.status, first.stderr).toBe(1);
    expect(first.stderr).toMatch(
      /downloading model\.safetensors stopped at \d+ of \d+ bytes .*run the command again to resume/,
    );
    const blobs = join(fresh, 'hub', 'models--org--tiny', 'blobs');
    const partial = readdirSync(blobs).find((f) => f.endsWith('.incomplete'))!;
    const had = lstatSync(join(blobs, partial)).size;
    expect(had).toBeGreaterThan(0);
    log.length = 0;
    const second = await dcformer(['download', 'org/tiny'], fresh, cwd);
    expect(second.status, second.stderr).toBe(0);
    expect(log.filter((l) => l.url.startsWith('/cdn/')).map((l) => l.range)).toEqual([`bytes=${had}-`]);
    expect(second.stderr).toContain(
      `resuming model.safetensors at ${had} of ${files.get('model.safetensors')!.length} bytes`,
    );
    const weights = files.get('model.safetensors')!;
    expect(sha256(readFileSync(join(blobs, sha256(weights))))).toBe(sha256(weights));
  });

  it("a file whose sha256 differs from the Hub's is refused and never moved into place", async () => {
    const fresh = await tempDir();
    faults.corrupt = true;
    const r = await dcformer(['download', 'org/tiny'], fresh, cwd);
    faults.corrupt = false;
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /dcformer download: org\/tiny@main: model\.safetensors does not match the Hub's sha256 \(got [0-9a-f]{16}…, expected [0-9a-f]{16}…\); the download was deleted/,
    );
    const repo = join(fresh, 'hub', 'models--org--tiny');
    expect(readdirSync(join(repo, 'blobs')).some((f) => f.startsWith(sha256(files.get('model.safetensors')!)))).toBe(
      false,
    );
    expect(existsSync(join(repo, 'snapshots', COMMIT, 'model.safetensors'))).toBe(false);
  });

  it("a sharded checkpoint: the index and every shard it lists, and logits equal the local folder's", async () => {
    const fresh = await tempDir();
    const r = await dcformer(['download', 'org/sharded', '--json'], fresh, cwd);
    expect(r.status, r.stderr).toBe(0);
    const shards = [...sharded.keys()]
      .filter((f) => f !== 'pytorch_model.bin.index.json' && f !== 'config.json')
      .sort();
    expect(shards.length).toBeGreaterThan(1);
    expect((JSON.parse(r.stdout) as { files: string[] }).files.sort()).toEqual(
      ['config.json', 'pytorch_model.bin.index.json', ...shards].sort(),
    );
    const ids = join(fresh, 'ids.json');
    writeFileSync(ids, JSON.stringify({ input_ids: [[1, 2, 3, 4]] }));
    const viaHub = await dcformer(
      ['logits', '--model', 'org/sharded', '--input', ids, '--out', join(fresh, 'a.json'), '--backend', 'cpu'],
      fresh,
      cwd,
    );
    const local = await dcformer(
      ['logits', '--model', SHARDED, '--input', ids, '--out', join(fresh, 'b.json'), '--backend', 'cpu'],
      fresh,
      cwd,
    );
    expect([viaHub.status, local.status], viaHub.stderr + local.stderr).toEqual([0, 0]);
    expect(readFileSync(join(fresh, 'a.json'), 'utf8')).toBe(readFileSync(join(fresh, 'b.json'), 'utf8'));
  });

  it("a renamed repository: the Hub's relative redirect is followed, the CDN's is not", async () => {
    const fresh = await tempDir();
    const r = await dcformer(['download', 'old/tiny', '--json'], fresh, cwd);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      commit: COMMIT,
      files: ['config.json', 'tokenizer.json', 'model.safetensors'],
    });
    expect(readlinkSync(join(fresh, 'hub', 'models--old--tiny', 'snapshots', COMMIT, 'model.safetensors'))).toBe(
      `../../blobs/${sha256(files.get('model.safetensors')!)}`,
    );
  });

  it('a local folder named org/tiny wins over the Hub', async () => {
    const here = await tempDir();
    mkdirSync(join(here, 'org'));
    cpSync(model, join(here, 'org', 'tiny'), { recursive: true });
    log.length = 0;
    const r = await dcformer(
      ['generate', '--model', 'org/tiny', '--prompt', 'Hi', '--max-new-tokens', '2', '--backend', 'cpu'],
      await tempDir(),
      here,
    );
    expect(r.status, r.stderr).toBe(0);
    expect(log).toEqual([]);
    expect(r.stderr).not.toContain('Hugging Face');
  });

  it('a missing local path shaped like org/name: one line saying both', async () => {
    const r = await dcformer(['generate', '--model', 'runs/tiny', '--prompt', 'Hi'], home, cwd);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `dcformer generate: cannot read --model runs/tiny: no such directory, nor a model on the Hub (runs/tiny@main: no such model on ${endpoint} (or it has no config.json))\n`,
    );
  });

  it('usage: a bad id is exit 2; a model the Hub does not have is one line', async () => {
    const bad = await dcformer(['download', 'not-an-id'], home, cwd);
    expect([bad.status, bad.stderr]).toEqual([
      2,
      "dcformer download: 'not-an-id' is not a Hub model id (expected org/name or org/name@revision)\n",
    ]);
    const absent = await dcformer(['download', 'org/tiny@nope'], home, cwd);
    expect(absent.status).toBe(1);
    expect(absent.stderr).toBe(
      `dcformer download: org/tiny@nope: no such model on ${endpoint} (or it has no config.json)\n`,
    );
  });
});
