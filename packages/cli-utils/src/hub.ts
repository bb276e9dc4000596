/**
 * Models from the Hugging Face Hub for `--model org/name[@revision]` and `dcformer download`, kept
 * in the Hub's own cache layout so that huggingface_hub and transformers share the files:
 *
 *   $HF_HUB_CACHE (default $HF_HOME/hub, $HF_HOME default ~/.cache/huggingface)
 *     models--org--name/refs/<revision>          the commit the revision pointed at
 *     models--org--name/blobs/<etag>             file contents (sha256 for LFS files, git sha1 else)
 *     models--org--name/snapshots/<commit>/<f>   relative links to the blobs
 *
 * Files come from `$HF_ENDPOINT/org/name/resolve/<revision>/<file>` (default https://huggingface.co).
 * A download goes to blobs/<etag>.incomplete and resumes from its size with a Range request; its
 * size, and its sha256 where the Hub reports one (LFS files: X-Linked-Etag), are checked before it
 * is renamed into place. HF_HUB_OFFLINE=1 uses the cache only.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, readlink, rename, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CliError } from './report.js';

const ID = /^([A-Za-z0-9][A-Za-z0-9._-]*)\/([A-Za-z0-9][A-Za-z0-9._-]*)(?:@([A-Za-z0-9._/-]+))?$/;
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const CONFIG = 'config.json';
/** Fetched when the repository has them; none is required. */
const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'tokenizer.model',
  'vocab.json',
  'merges.txt',
  'encoder.json',
  'vocab.bpe',
];
/** Weight layouts in the loader's order of preference (@dcformer/model's readCheckpointWeights). */
const WEIGHTS: [file: string, index: boolean][] = [
  ['model.safetensors', false],
  ['model.safetensors.index.json', true],
  ['pytorch_model.bin', false],
  ['pytorch_model.bin.index.json', true],
];

/**
 * The Hub has no such model (or revision), or could not be reached: for `--model PATH` the path may
 * simply be a mistyped local folder, so the caller words it that way.
 */
export class HubNotFoundError extends CliError {
  constructor(message: string) {
    super(message);
    this.name = 'HubNotFoundError';
  }
}

export interface HubId {
  repo: string;
  revision: string;
}

/** `org/name[@revision]`, or null when `text` is not shaped like a Hub model id. */
export function parseHubId(text: string): HubId | null {
  const m = ID.exec(text);
  if (m === null || m[1].includes('..') || m[2].includes('..') || (m[3] ?? '').split('/').includes('..')) return null;
  return { repo: `${m[1]}/${m[2]}`, revision: m[3] ?? 'main' };
}

export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  return join(env.HF_HOME || join(homedir(), '.cache', 'huggingface'), 'hub');
}

function offline(env: NodeJS.ProcessEnv): boolean {
  const v = (env.HF_HUB_OFFLINE ?? '').toLowerCase();
  return v !== '' && v !== '0' && v !== 'false' && v !== 'no';
}

export interface HubOptions {
  env?: NodeJS.ProcessEnv;
  /** One line per file as it starts, and progress as it goes (a terminal redraws one line). */
  onProgress?: (file: string, done: number, total: number) => void;
  onNote?: (message: string) => void;
}

export interface HubSnapshot {
  /** The snapshot folder: a model folder like any other. */
  dir: string;
  commit: string;
  files: string[];
  /** Files fetched now (the others were in the cache). */
  downloaded: string[];
}

interface Remote {
  /** Where the bytes come from (after the Hub's redirect for LFS files). */
  url: string;
  size: number;
  etag: string;
  /** sha256 of the content, for LFS files. */
  sha256: string | null;
  commit: string | null;
}

function repoDir(cache: string, repo: string): string {
  return join(cache, `models--${repo.replace('/', '--')}`);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function unquote(etag: string | null): string | null {
  if (etag === null) return null;
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '');
}

/**
 * What the Hub says about one file, or null when it has no such file. Redirects within the Hub (a
 * renamed repository) are followed; the one to the CDN (LFS files, which carry X-Linked-Etag) is not:
 * its headers are the metadata, as huggingface_hub reads them.
 */
async function head(endpoint: string, id: HubId, file: string): Promise<Remote | null> {
  let url = `${endpoint}/${id.repo}/resolve/${encodeURIComponent(id.revision).replace(/%2F/g, '/')}/${file}`;
  let r: Response;
  for (let hops = 0; ; hops++) {
    try {
      r = await fetch(url, { method: 'HEAD', redirect: 'manual', headers: { 'Accept-Encoding': 'identity' } });
    } catch (e) {
      throw new HubNotFoundError(
        `cannot reach ${endpoint} for ${id.repo} (${(e as Error).cause ?? (e as Error).message}); set HF_HUB_OFFLINE=1 to use the cache only`,
      );
    }
    const location = r.headers.get('location');
    const internal = location !== null && new URL(location, url).origin === new URL(url).origin;
    if (r.status < 300 || r.status >= 400 || r.headers.get('x-linked-etag') !== null || !internal || hops >= 5) break;
    url = new URL(location, url).href;
  }
  if (r.status === 404) return null;
  if (r.status === 401 || r.status === 403)
    throw new CliError(
      `${id.repo}: the Hub refused access to ${file} (HTTP ${r.status}); a gated or private model needs a token, which this CLI does not send`,
    );
  const linkedEtag = unquote(r.headers.get('x-linked-etag'));
  const etag = linkedEtag ?? unquote(r.headers.get('etag'));
  const sizeText = r.headers.get('x-linked-size') ?? r.headers.get('content-length');
  if (r.status >= 400 || etag === null || sizeText === null)
    throw new CliError(
      `${id.repo}: unexpected answer for ${file} (HTTP ${r.status}${etag === null ? ', no ETag' : ''})`,
    );
  if (!/^[A-Za-z0-9]+$/.test(etag))
    throw new CliError(`${id.repo}: ${file} has an ETag that is not a hash (${JSON.stringify(etag)})`);
  const location = r.status >= 300 && r.status < 400 ? r.headers.get('location') : null;
  return {
    url: location === null ? url : new URL(location, url).href,
    size: Number(sizeText),
    etag,
    sha256: linkedEtag !== null && /^[0-9a-f]{64}$/.test(linkedEtag) ? linkedEtag : null,
    commit: r.headers.get('x-repo-commit'),
  };
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** Downloads `remote` into blobs/<etag>, resuming a partial file; checks size and sha256 first. */
async function fetchBlob(
  repo: string,
  blobs: string,
  file: string,
  remote: Remote,
  options: HubOptions,
): Promise<string> {
  const blob = join(blobs, remote.etag);
  if (await exists(blob)) return blob;
  const partial = `${blob}.incomplete`;
  let have = (await stat(partial).catch(() => null))?.size ?? 0;
  if (have > remote.size) {
    await unlink(partial);
    have = 0;
  }
  if (have < remote.size) {
    if (have > 0) options.onNote?.(`resuming ${file} at ${have} of ${remote.size} bytes`);
    const r = await fetch(remote.url, {
      headers:
        have > 0 ? { Range: `bytes=${have}-`, 'Accept-Encoding': 'identity' } : { 'Accept-Encoding': 'identity' },
    });
    if (!r.ok || r.body === null) throw new CliError(`${repo}: downloading ${file} failed (HTTP ${r.status})`);
    if (have > 0 && r.status !== 206) have = 0; // the server sent the whole file
    let done = have;
    options.onProgress?.(file, done, remote.size);
    // Each chunk is written before the next is read, so what arrived before a dropped connection is
    // on disk for the resume (a stream pipeline would discard its buffered writes on the error).
    const out = await open(partial, have > 0 ? 'a' : 'w');
    try {
      for await (const chunk of Readable.fromWeb(r.body as import('node:stream/web').ReadableStream)) {
        await out.write(chunk as Uint8Array);
        done += (chunk as Uint8Array).length;
        options.onProgress?.(file, done, remote.size);
      }
    } catch (e) {
      throw new CliError(
        `${repo}: downloading ${file} stopped at ${done} of ${remote.size} bytes (${(e as Error).message}); run the command again to resume`,
      );
    } finally {
      await out.close();
    }
  }
  const size = (await stat(partial)).size;
  if (size !== remote.size) {
    throw new CliError(
      `${repo}: ${file} is ${size} bytes, the Hub says ${remote.size}; run the command again to resume${size > remote.size ? ' (the partial file will be fetched afresh)' : ''}`,
    );
  }
  if (remote.sha256 !== null) {
    const got = await sha256Of(partial);
    if (got !== remote.sha256) {
      await unlink(partial);
      throw new CliError(
        `${repo}: ${file} does not match the Hub's sha256 (got ${got.slice(0, 16)}…, expected ${remote.sha256.slice(0, 16)}…); the download was deleted`,
      );
    }
  }
  await rename(partial, blob);
  return blob;
}

/** snapshots/<commit>/<file> → ../../blobs/<etag>, as huggingface_hub links them. */
async function linkIntoSnapshot(snapshot: string, file: string, blob: string): Promise<void> {
  const link = join(snapshot, file);
  const target = relative(dirname(link), blob);
  const current = await readlink(link).catch(() => null);
  if (current === target) return;
  if (current !== null) await unlink(link);
  await symlink(target, link);
}

/**
 * The local snapshot folder of `id`, downloading what it lacks (config, tokenizer files, weights
 * including every shard of an index). Offline (HF_HUB_OFFLINE), only the cache is used.
 */
export async function resolveHubModel(id: HubId, options: HubOptions = {}): Promise<HubSnapshot> {
  const env = options.env ?? process.env;
  const cache = hubCacheDir(env);
  const root = repoDir(cache, id.repo);
  const refFile = join(root, 'refs', id.revision);
  const isCommit = /^[0-9a-f]{40}$/.test(id.revision);
  const name = `${id.repo}@${id.revision}`;
  if (offline(env)) {
    const commit = isCommit ? id.revision : (await readFile(refFile, 'utf8').catch(() => '')).trim();
    const dir = join(root, 'snapshots', commit);
    if (commit === '' || !(await exists(join(dir, CONFIG))))
      throw new HubNotFoundError(`${name} is not in the Hugging Face cache (${cache}) and HF_HUB_OFFLINE is set`);
    return { dir, commit, files: [], downloaded: [] };
  }
  const endpoint = (env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/+$/, '');
  const config = await head(endpoint, id, CONFIG);
  if (config === null) throw new HubNotFoundError(`${name}: no such model on ${endpoint} (or it has no ${CONFIG})`);
  const commit = config.commit ?? (isCommit ? id.revision : null);
  if (commit === null || !/^[0-9a-f]{40}$/.test(commit))
    throw new CliError(`${name}: the Hub did not name the commit (X-Repo-Commit)`);
  const pinned: HubId = { repo: id.repo, revision: commit };
  const blobs = join(root, 'blobs');
  const snapshot = join(root, 'snapshots', commit);
  await mkdir(blobs, { recursive: true });
  await mkdir(snapshot, { recursive: true });
  if (!isCommit) {
    await mkdir(dirname(refFile), { recursive: true });
    await writeFile(refFile, commit);
  }
  const files: string[] = [];
  const downloaded: string[] = [];
  const get = async (file: string, remote: Remote) => {
    const had = await exists(join(blobs, remote.etag));
    const blob = await fetchBlob(name, blobs, file, remote, options);
    await linkIntoSnapshot(snapshot, file, blob);
    files.push(file);
    if (!had) downloaded.push(file);
  };
  await get(CONFIG, config);
  for (const file of TOKENIZER_FILES) {
    const remote = await head(endpoint, pinned, file);
    if (remote !== null) await get(file, remote);
  }
  let weights = false;
  for (const [file, isIndex] of WEIGHTS) {
    const remote = await head(endpoint, pinned, file);
    if (remote === null) continue;
    await get(file, remote);
    if (isIndex) {
      for (const shard of await shardsOf(join(snapshot, file), name)) {
        const part = await head(endpoint, pinned, shard);
        if (part === null) throw new CliError(`${name}: ${file} lists ${shard}, which the repository does not have`);
        await get(shard, part);
      }
    }
    weights = true;
    break;
  }
  if (!weights) throw new CliError(`${name}: no weights found (looked for ${WEIGHTS.map(([f]) => f).join(', ')})`);
  return { dir: snapshot, commit, files, downloaded };
}

/** The shard file names of a sharded index, each a plain file name (no paths from the network). */
async function shardsOf(indexPath: string, name: string): Promise<string[]> {
  let map: unknown;
  try {
    map = (JSON.parse(await readFile(indexPath, 'utf8')) as { weight_map?: unknown }).weight_map;
  } catch (e) {
    throw new CliError(`${name}: ${indexPath} is not valid JSON (${(e as Error).message})`);
  }
  if (typeof map !== 'object' || map === null) throw new CliError(`${name}: ${indexPath} has no "weight_map"`);
  const shards = [...new Set(Object.values(map as Record<string, unknown>))];
  for (const s of shards) {
    if (typeof s !== 'string' || !FILE_NAME.test(s))
      throw new CliError(`${name}: ${indexPath} names a shard ${JSON.stringify(s)}, not a plain file name`);
  }
  return shards as string[];
}

function megabytes(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

/**
 * HubOptions that report on `io.stderr`: on a terminal one line redrawn as bytes arrive, elsewhere
 * one line per file as it starts. Notes (a resumed download) always get their own line.
 */
export function stderrProgress(
  io: { stderr: { write(text: string): unknown; isTTY?: boolean } },
  prefix: string,
): HubOptions {
  const tty = io.stderr.isTTY === true;
  let current = '';
  let last = 0;
  return {
    onNote: (m) => io.stderr.write(`${tty && current !== '' ? '\r\x1b[K' : ''}${prefix}: ${m}\n`),
    onProgress: (file, done, total) => {
      if (!tty) {
        if (file !== current) io.stderr.write(`${prefix}: downloading ${file} (${megabytes(total)})\n`);
        current = file;
        return;
      }
      const now = Date.now();
      if (file === current && now - last < 100 && done < total) return;
      current = file;
      last = now;
      io.stderr.write(
        `\r\x1b[K${prefix}: downloading ${file} ${megabytes(done)} / ${megabytes(total)} (${total > 0 ? Math.floor((100 * done) / total) : 100}%)${done >= total ? '\n' : ''}`,
      );
    },
  };
}
