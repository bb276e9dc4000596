#!/usr/bin/env node
// Builds the optional native addon (build/dcformer_cpu.node): our own GEMM + fused kernels. It needs
// only a C++ compiler and Node's headers (what node-gyp needs) — no BLAS, no other system library.
// Optional by design: without them this prints why and exits 0 (Node then runs tfjs-backend-wasm).
// Run by `npm ci` for the workspace, or by hand: `npx dcformer-kernels-cpu [--force]`.
//
// Targets: the GEMM's micro-kernels are compiled once per vector ISA (gemm-avx512.cc, gemm-avx2.cc,
// gemm-neon.cc, gemm-portable.cc) and chosen at run time. The other kernels are compiled for this
// machine's x86-64 level (v4 = AVX-512, v3 = AVX2+FMA, else v2), never -march=native; the addon
// checks that level when it loads, so a build copied to an older CPU refuses to load with a reason.
// DCFORMER_CPU_LEVEL picks a lower level (see below).
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gemmFlags } from './native-flags.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quietFail = process.argv.includes('--quiet-fail');
const out = join(root, 'build', 'dcformer_cpu.node');
const nativeFiles = readdirSync(join(root, 'native')).map((f) => join(root, 'native', f));
const sources = nativeFiles.filter((f) => f.endsWith('.cc'));
const inputs = [...nativeFiles, fileURLToPath(import.meta.url), join(root, 'scripts', 'native-flags.mjs')];

function skip(reason) {
  console.log(`@dcformer/kernels-cpu: native addon not built (${reason}); Node will use tfjs-backend-wasm`);
  process.exit(quietFail ? 0 : 1);
}

if (process.env.DCFORMER_NATIVE === '0') skip('DCFORMER_NATIVE=0');
// Up to date: skip the compile (npm ci runs this on every install) — unless the level asked for
// differs from the one the addon was built for (recorded next to it), or the sources are newer.
const levelStamp = `${out}.level`;
const askedLevel = process.env.DCFORMER_CPU_LEVEL ?? 'this-cpu';
const stampedLevel = existsSync(levelStamp) ? readFileSync(levelStamp, 'utf8') : null;
if (
  existsSync(out) &&
  stampedLevel === askedLevel &&
  inputs.every((s) => statSync(s).mtimeMs < statSync(out).mtimeMs) &&
  !process.argv.includes('--force')
) {
  console.log(`@dcformer/kernels-cpu: native addon up to date (${out})`);
  process.exit(0);
}

const cxx = process.env.CXX ?? 'g++';
if (spawnSync(cxx, ['--version']).status !== 0) skip(`no C++ compiler '${cxx}'`);
// Node's headers: next to the running node (official tarballs, nvm) or Debian's nodejs-dev.
const nodeInclude = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node'].find((d) =>
  existsSync(join(d, 'node_api.h')),
);
if (!nodeInclude) skip("Node's headers (node_api.h) not found");

/** The highest x86-64 micro-architecture level this CPU runs, asked of the compiler's own runtime. */
function x86Level() {
  const dir = mkdtempSync(join(tmpdir(), 'dcf-level-'));
  try {
    const src =
      '#include <cstdio>\nint main(){__builtin_cpu_init();std::puts(__builtin_cpu_supports("x86-64-v4")?"x86-64-v4":__builtin_cpu_supports("x86-64-v3")?"x86-64-v3":"x86-64-v2");}';
    const exe = join(dir, 'level');
    const c = spawnSync(cxx, ['-x', 'c++', '-', '-o', exe], { input: src });
    if (c.status !== 0) return 'x86-64-v2';
    return spawnSync(exe, { encoding: 'utf8' }).stdout.trim() || 'x86-64-v2';
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// DCFORMER_CPU_LEVEL=x86-64-v3 (or v2) builds for an older CPU than this one: an addon that moves to
// other machines (an image built on a newer host), or this machine standing in for an AVX2-only one.
const levels = ['x86-64-v2', 'x86-64-v3', 'x86-64-v4'];
const forcedLevel = process.env.DCFORMER_CPU_LEVEL;
if (forcedLevel && !levels.includes(forcedLevel))
  skip(`DCFORMER_CPU_LEVEL must be one of ${levels.join(', ')}; got '${forcedLevel}'`);
const x64 = process.arch === 'x64';
const level = x64 ? (forcedLevel ?? x86Level()) : null;
const levelFlags = level ? [`-march=${level}`, '-mtune=generic', `-DDCF_TARGET_LEVEL="${level}"`] : [];
const common = [
  '-O3',
  '-fno-math-errno',
  '-fPIC',
  '-fopenmp',
  '-std=c++17',
  '-DNODE_GYP_MODULE_NAME=dcformer_cpu',
  `-I${nodeInclude}`,
];

function run(args) {
  return new Promise((resolve) => {
    const p = spawn(cxx, args, { stdio: ['ignore', 'inherit', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (status) => resolve({ status, err }));
    p.on('error', (e) => resolve({ status: 1, err: e.message }));
  });
}

const objDir = join(root, 'build', 'obj');
mkdirSync(objDir, { recursive: true });
const t0 = Date.now();
const queue = sources.map((src) => {
  const name = src.slice(src.lastIndexOf('/') + 1);
  return { src, obj: join(objDir, name.replace(/\.cc$/, '.o')), flags: gemmFlags(name, process.arch) ?? levelFlags };
});
const failures = [];
async function worker() {
  for (let job = queue.shift(); job; job = queue.shift()) {
    const r = await run([...common, ...job.flags, '-c', job.src, '-o', job.obj]);
    if (r.status !== 0)
      failures.push(`${job.src.slice(root.length + 1)}: ${r.err.split('\n').slice(0, 6).join(' | ')}`);
  }
}
const objects = queue.map((j) => j.obj);
await Promise.all(Array.from({ length: Math.max(1, availableParallelism()) }, worker));
if (failures.length) skip(`compile failed: ${failures[0]}`);
// link to a temporary name, then rename: a running process never sees a half-written addon
const tmp = `${out}.${process.pid}.tmp`;
const link = await run(['-shared', '-fopenmp', ...objects, '-o', tmp, '-ldl']);
if (link.status !== 0) skip(`link failed: ${link.err.split('\n').slice(0, 6).join(' | ')}`);
renameSync(tmp, out);
writeFileSync(`${levelStamp}.${process.pid}.tmp`, askedLevel);
renameSync(`${levelStamp}.${process.pid}.tmp`, levelStamp);
console.log(
  `@dcformer/kernels-cpu: built ${out} (${level ?? process.arch}, GEMM paths chosen at run time) in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
);
