// Host build of the .cu sources (scripts/build-native.mjs --host, driver --host): a plain C++
// compiler reads the same files with this header forced in (-include), so every __host__ __device__
// body compiles as ordinary C++ and runs on the CPU under OpenMP. Only the __global__ wrappers and
// the shared-memory code, which sit behind `#ifdef __CUDACC__`, are left out of this build.
#pragma once
#ifndef __CUDACC__
#define __host__
#define __device__
#define __global__
#define __forceinline__ inline
#endif
