// Compiler flags per GEMM source: each micro-kernel file is built for its own vector ISA on top of
// the architecture's baseline, so one addon carries every path and picks one at run time. Shared by
// build-native.mjs and the stand-alone GEMM check (test/gemm-native.test.ts).

/** Extra flags for `file` (a basename under native/) when compiling for `arch` ('x64' | 'arm64' | …). */
export function gemmFlags(file, arch) {
  if (arch !== 'x64') return file.startsWith('gemm-') || file.startsWith('qgemm-') ? [] : undefined;
  const base = ['-march=x86-64'];
  const flags = {
    'gemm-avx512.cc': [...base, '-mavx512f', '-mavx2', '-mfma'],
    'gemm-avx2.cc': [...base, '-mavx2', '-mfma'],
    'gemm-neon.cc': base,
    'gemm-portable.cc': base,
    'gemm-driver.cc': base,
    // compact matmul (qgemm*.cc): F16C for the half conversion on both x86 vector paths
    'qgemm-avx512.cc': [...base, '-mavx512f', '-mavx2', '-mfma', '-mf16c'],
    // the integer int4 decode: VNNI's vpdpbusd and AVX-512BW's byte operations on top of avx512
    'qgemm-avx512vnni.cc': [...base, '-mavx512f', '-mavx512bw', '-mavx512vnni', '-mavx2', '-mfma', '-mf16c'],
    'qgemm-avx2vnni.cc': [...base, '-mavx2', '-mfma', '-mf16c', '-mavxvnni'],
    'qgemm-avx2int.cc': [...base, '-mavx2', '-mfma', '-mf16c'],
    'qgemm-avx2.cc': [...base, '-mavx2', '-mfma', '-mf16c'],
    'qgemm-neon.cc': base,
    'qgemm-portable.cc': base,
    'qgemm-driver.cc': base,
  };
  return flags[file];
}
