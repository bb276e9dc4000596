#!/usr/bin/env bash
# Builds the kernel driver (driver.cc) and the kernels it runs, without Node or npm:
#   driver/build.sh host   OUT_DIR   g++ + OpenMP: the .cu files compiled as C++ (native/compat.h)
#   driver/build.sh device OUT_DIR   nvcc for the .cu files (ARCHS, default "80 90": SASS for each,
#                                    PTX for the last), g++ for the rest, cudart linked statically
# Writes OUT_DIR/dcf-driver. CXX, NVCC and CUDA_HOME pick the tools.
set -euo pipefail
variant=${1:?usage: build.sh host|device OUT_DIR}
out=${2:?usage: build.sh host|device OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
native="$here/../native"
cxx=${CXX:-g++}
mkdir -p "$out/obj-$variant"
# up to date: nothing in native/ or driver/ is newer than the binary (and it was built as this variant)
if [ -x "$out/dcf-driver" ] && [ "$(cat "$out/variant" 2>/dev/null)" = "$variant" ] && \
   [ -z "$(find "$native" "$here" -newer "$out/dcf-driver" -type f | head -1)" ]; then
  echo "up to date: $out/dcf-driver ($variant)"
  exit 0
fi
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
objs=()
kernels=(adamw gelu rope rms-norm cross-entropy compose gemm dynamic-weights decode-attention)
if [ "$variant" = host ]; then
  for k in "${kernels[@]}"; do
    "$cxx" -O3 -std=c++17 -fopenmp -fPIC -I"$native" -x c++ -include "$native/compat.h" -c "$native/$k.cu" -o "$out/obj-host/$k.o" &
    objs+=("$out/obj-host/$k.o")
  done
  "$cxx" -O2 -std=c++17 -fopenmp -I"$native" -c "$native/runtime-host.cc" -o "$out/obj-host/runtime-host.o" &
  "$cxx" -O2 -std=c++17 -I"$native" -c "$here/driver.cc" -o "$out/obj-host/driver.o" &
  wait
  "$cxx" -fopenmp "${objs[@]}" "$out/obj-host/runtime-host.o" "$out/obj-host/driver.o" -o "$out/dcf-driver"
elif [ "$variant" = device ]; then
  nvcc=${NVCC:-nvcc}
  cuda=${CUDA_HOME:-$(dirname "$(dirname "$(command -v "$nvcc")")")}
  [ -f "$cuda/lib64/libcudart_static.a" ] || cuda=/usr/local/cuda
  archs=(${ARCHS:-80 90})
  gencode=()
  for a in "${archs[@]}"; do gencode+=(-gencode "arch=compute_$a,code=sm_$a"); done
  last=${archs[${#archs[@]}-1]}
  gencode+=(-gencode "arch=compute_$last,code=compute_$last")
  for k in "${kernels[@]}" runtime-cuda; do
    "$nvcc" -O3 -std=c++17 "${gencode[@]}" -I"$native" -c "$native/$k.cu" -o "$out/obj-device/$k.o" &
    objs+=("$out/obj-device/$k.o")
    if (( ${#objs[@]} % jobs == 0 )); then wait; fi
  done
  "$cxx" -O2 -std=c++17 -I"$native" -c "$native/cublas.cc" -o "$out/obj-device/cublas.o"
  "$cxx" -O2 -std=c++17 -I"$native" -c "$here/driver.cc" -o "$out/obj-device/driver.o"
  wait
  "$cxx" "${objs[@]}" "$out/obj-device/cublas.o" "$out/obj-device/driver.o" -o "$out/dcf-driver" \
    -L"$cuda/lib64" -lcudart_static -ldl -lpthread -lrt
else
  echo "build.sh: the variant must be host or device; got '$variant'" >&2
  exit 2
fi
echo "$variant" > "$out/variant"
echo "built $out/dcf-driver ($variant)"
