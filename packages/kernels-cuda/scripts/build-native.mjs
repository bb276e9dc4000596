#!/usr/bin/env node
// Builds the native addons of @dcformer/kernels-cuda from native/ (the same sources for both):
//
//   node scripts/build-native.mjs          device addon build/dcformer_cuda.node: nvcc for the .cu
//                                          files (SASS for sm_80 and sm_90 plus PTX for newer GPUs),
//                                          cudart linked statically so only the driver is needed
//   node scripts/build-native.mjs --host   host addon build/host/dcformer_cuda_host.node: a C++
//                                          compiler with OpenMP reads the .cu files as C++
//                                          (native/compat.h), the kernels' bodies run on the CPU
//
// Optional by design (the package's `install` script runs the device build): without nvcc it prints
// one line and exits 0, and JS reports `cudaStatus()` unavailable with that reason. Options:
// --force (rebuild even when up to date), --quiet-fail (exit 0 on a failed compile too),
// --archs sm_80,sm_90 or DCF_CUDA_ARCHS (which SASS to build; PTX of the last one is added),
// --out-dir DIR (instead of build/ or build/host/),
// CXX (host compiler), NVCC, CUDA_HOME. DCFORMER_NATIVE=0 skips.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const host = argv.includes('--host');
const force = argv.includes('--force');
const quietFail = argv.includes('--quiet-fail');
const archArg = argv.includes('--archs') ? argv[argv.indexOf('--archs') + 1] : process.env.DCF_CUDA_ARCHS;
const archs = (archArg ?? 'sm_80,sm_90').split(',').filter(Boolean);
const label = host ? '@dcformer/kernels-cuda (host build)' : '@dcformer/kernels-cuda';
const name = host ? 'dcformer_cuda_host' : 'dcformer_cuda';
// --out-dir: the tests build a quick single-architecture copy there instead of touching build/
const outDir = argv.includes('--out-dir')
  ? argv[argv.indexOf('--out-dir') + 1]
  : host
    ? join(root, 'build', 'host')
    : join(root, 'build');
const out = join(outDir, `${name}.node`);

const nativeDir = join(root, 'native');
const files = readdirSync(nativeDir).map((f) => join(nativeDir, f));
// the host build has no cudart and no cuBLAS: runtime-host.cc stands in for both
const hostOnly = ['runtime-host.cc'];
const deviceOnly = ['runtime-cuda.cu', 'cublas.cc'];
const sources = files.filter(
  (f) => /\.(cu|cc)$/.test(f) && !(host ? deviceOnly : hostOnly).some((d) => f.endsWith(`/${d}`)),
);

/** Not built: one line; exit 0 for what the machine lacks, 1 for a failed compile unless --quiet-fail. */
function skip(reason, { failure = false } = {}) {
  console.log(`${label}: native addon not built (${reason})${host ? '' : '; cudaStatus() will say unavailable'}`);
  process.exit(failure && !quietFail ? 1 : 0);
}

if (process.env.DCFORMER_NATIVE === '0') skip('DCFORMER_NATIVE=0');
const inputs = [...files, fileURLToPath(import.meta.url)];
if (!force && existsSync(out) && inputs.every((f) => statSync(f).mtimeMs < statSync(out).mtimeMs)) {
  console.log(`${label}: up to date (${out})`);
  process.exit(0);
}

// At install time (--quiet-fail) the device build waits for a machine that can run it: nvcc for
// sm_80 + sm_90 + PTX takes one to two minutes, which every `npm ci` (and so `npm start`) on a
// machine without an NVIDIA driver would pay for nothing. By hand, or with DCFORMER_CUDA_BUILD=1, it
// builds anyway (the tests build their own copy).
const driverFiles = [
  '/dev/nvidiactl',
  '/usr/lib/x86_64-linux-gnu/libcuda.so.1',
  '/usr/lib/aarch64-linux-gnu/libcuda.so.1',
  '/usr/lib64/libcuda.so.1',
  '/usr/lib/wsl/lib/libcuda.so.1',
];
if (!host && quietFail && process.env.DCFORMER_CUDA_BUILD !== '1' && !driverFiles.some((f) => existsSync(f))) {
  skip('no NVIDIA driver on this machine; build it where one is with `npx dcformer-kernels-cuda`');
}

const cxx = process.env.CXX ?? 'g++';
const nvcc = process.env.NVCC ?? 'nvcc';
if (spawnSync(cxx, ['--version']).status !== 0) skip(`no C++ compiler '${cxx}'`);
if (!host && spawnSync(nvcc, ['--version']).status !== 0) skip(`no CUDA compiler '${nvcc}' on PATH`);
const nodeInclude = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node'].find((d) =>
  existsSync(join(d, 'node_api.h')),
);
if (!nodeInclude) skip("Node's headers (node_api.h) not found");
const cudaHome = [process.env.CUDA_HOME, '/usr/local/cuda'].find(
  (d) => d && existsSync(join(d, 'lib64', 'libcudart_static.a')),
);
if (!host && !cudaHome) skip('libcudart_static.a not found under $CUDA_HOME or /usr/local/cuda');

const common = ['-O3', '-std=c++17', `-I${nativeDir}`, `-I${nodeInclude}`, `-DNODE_GYP_MODULE_NAME=${name}`];
const gencode = archs.flatMap((a) => ['-gencode', `arch=compute_${a.slice(3)},code=${a}`]);
const last = archs[archs.length - 1]?.slice(3);
if (!host && (archs.length === 0 || archs.some((a) => !/^sm_\d+$/.test(a))))
  skip(`--archs must be like sm_80,sm_90; got '${archArg}'`, { failure: true });
// PTX of the newest architecture: a later GPU JIT-compiles it
if (!host) gencode.push('-gencode', `arch=compute_${last},code=compute_${last}`);

function compileArgs(src, obj) {
  if (host)
    return [
      cxx,
      [
        ...common,
        '-fopenmp',
        '-fPIC',
        ...(src.endsWith('.cu') ? ['-x', 'c++', '-include', join(nativeDir, 'compat.h')] : []),
        '-c',
        src,
        '-o',
        obj,
      ],
    ];
  if (src.endsWith('.cu')) return [nvcc, [...common, ...gencode, '-Xcompiler', '-fPIC', '-c', src, '-o', obj]];
  return [cxx, [...common, '-fPIC', `-I${join(cudaHome, 'include')}`, '-c', src, '-o', obj]];
}

function run(cmd, args) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (status) => resolve({ status, err }));
    p.on('error', (e) => resolve({ status: 1, err: e.message }));
  });
}

const objDir = join(outDir, 'obj');
mkdirSync(objDir, { recursive: true });
const t0 = Date.now();
const queue = sources.map((src) => ({
  src,
  obj: join(objDir, src.slice(src.lastIndexOf('/') + 1).replace(/\.(cu|cc)$/, '.o')),
}));
const objects = queue.map((j) => j.obj);
const failures = [];
async function worker() {
  for (let job = queue.shift(); job; job = queue.shift()) {
    const [cmd, args] = compileArgs(job.src, job.obj);
    const r = await run(cmd, args);
    if (r.status !== 0)
      failures.push(`${job.src.slice(root.length + 1)}: ${r.err.trim().split('\n').slice(0, 8).join(' | ')}`);
  }
}
await Promise.all(Array.from({ length: Math.max(1, Math.min(availableParallelism(), 4)) }, worker));
if (failures.length) skip(`compile failed: ${failures[0]}`, { failure: true });
// link to a temporary name, then rename: a running process never sees a half-written addon
const tmp = `${out}.${process.pid}.tmp`;
const linkArgs = host
  ? ['-shared', '-fopenmp', ...objects, '-o', tmp]
  : ['-shared', ...objects, '-o', tmp, `-L${join(cudaHome, 'lib64')}`, '-lcudart_static', '-ldl', '-lpthread', '-lrt'];
const link = await run(cxx, linkArgs);
if (link.status !== 0) skip(`link failed: ${link.err.trim().split('\n').slice(0, 8).join(' | ')}`, { failure: true });
renameSync(tmp, out);
console.log(
  `${label}: built ${out}${host ? '' : ` (${archs.join(', ')} + PTX compute_${last})`} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
);
