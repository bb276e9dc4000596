#!/usr/bin/env node
// Builds the optional native addon (build/dcformer_cpu.node): OpenBLAS GEMM + fused kernels.
// Optional by design: without a C++ compiler, Node's headers or OpenBLAS this prints why and exits 0
// (the JS kernels then run, slower). Run by `npm ci` for the workspace, or by hand:
//   npx dcformer-kernels-cpu            (after: apt-get install -y g++ libopenblas-dev)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quietFail = process.argv.includes('--quiet-fail');
const out = join(root, 'build', 'dcformer_cpu.node');
const nativeFiles = readdirSync(join(root, 'native')).map((f) => join(root, 'native', f));
const sources = nativeFiles.filter((f) => f.endsWith('.cc'));

function skip(reason) {
  console.log(`@dcformer/kernels-cpu: native addon not built (${reason}); the tfjs kernels will be used`);
  process.exit(quietFail ? 0 : 1);
}

if (process.env.DCFORMER_NATIVE === '0') skip('DCFORMER_NATIVE=0');
// Up to date: skip the compile (npm ci runs this on every install).
if (existsSync(out) && nativeFiles.every((s) => statSync(s).mtimeMs < statSync(out).mtimeMs) && !process.argv.includes('--force')) {
  console.log(`@dcformer/kernels-cpu: native addon up to date (${out})`);
  process.exit(0);
}

const cxx = process.env.CXX ?? 'g++';
if (spawnSync(cxx, ['--version']).status !== 0) skip(`no C++ compiler '${cxx}'`);
// Node's headers: next to the running node (official tarballs, nvm) or Debian's nodejs-dev.
const nodeInclude = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node'].find((d) => existsSync(join(d, 'node_api.h')));
if (!nodeInclude) skip("Node's headers (node_api.h) not found");
const blasInclude = ['/usr/include/x86_64-linux-gnu/openblas-pthread', '/usr/include/aarch64-linux-gnu/openblas-pthread', '/usr/include/openblas', '/usr/include'].find((d) => existsSync(join(d, 'cblas.h')));
if (!blasInclude) skip('OpenBLAS headers (cblas.h) not found; apt-get install -y libopenblas-dev');

mkdirSync(join(root, 'build'), { recursive: true });
// -march=native: the addon is always built on the machine that runs it (install time or by hand).
const args = ['-O3', '-march=native', '-fno-math-errno', '-fPIC', '-shared', '-fopenmp', '-std=c++17', '-DNODE_GYP_MODULE_NAME=dcformer_cpu',
  `-I${nodeInclude}`, `-I${blasInclude}`, ...sources, '-o', out, '-lopenblas'];
const t0 = Date.now();
const r = spawnSync(cxx, args, { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
if (r.status !== 0) skip(`compile failed: ${(r.stderr ?? '').split('\n').slice(0, 8).join(' | ')}`);
console.log(`@dcformer/kernels-cpu: built ${out} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
