/** Extra compiler flags for GEMM source `file` (a basename under native/) on `arch`; undefined: not a GEMM source. */
export function gemmFlags(file: string, arch: string): string[] | undefined;
