#!/usr/bin/env bash
# The one prepared GPU check of @dcformer/kernels-cuda (issue 20), for a GPU machine with nvcc and no
# network, where Node may be absent. Prints one table and finishes well inside ten minutes:
#
#   1. the machine: GPU, driver, nvcc, cuBLAS (found in a Python venv's nvidia-cublas wheel)
#   2. builds the kernel driver with nvcc (driver/build.sh device; ARCHS from the GPU)
#   3. runs every stored case (driver/cases, written here beforehand by
#      `node scripts/make-driver-cases.mjs`) scaled up to ≥ 256 MiB each: error vs the CPU reference,
#      time, GB/s (inputs + outputs once) or TFLOP/s, with cuBLAS; then the GEMM cases again on the
#      tiled fallback (DCF_CUBLAS=0)
#   4. if Node is present: builds the device addon, prints its status, and runs the model check
#      (bundle/model-check.mjs, made beforehand by scripts/bundle-model-check.mjs; or, with the
#      workspace's node_modules and built dist/ folders, scripts/model-check.mjs): a bench-small
#      training step and decode on the `cuda` backend, the count of kernel calls that fell back to
#      the cpu backend (must be 0), and the loss and logits against the cpu backend
#   5. reports whether a Vulkan adapter is visible (for the webgpu backend through Dawn)
#
#   bash packages/kernels-cuda/scripts/gpu-check.sh [CASE_DIR]
#
# Exit status: 0 when every case is within tolerance. Nothing here needs npm or the network.
# Dry run without a GPU (the script's plumbing, on the host build of the kernels):
#   DCF_CHECK_VARIANT=host SCALE_MIB=8 bash scripts/gpu-check.sh
# (DCF_CHECK_OUT: where the driver is built; DCF_CUBLAS=0: skip the cuBLAS search.)
set -uo pipefail
pkg=$(cd "$(dirname "$0")/.." && pwd)
cases=${1:-$pkg/driver/cases}
variant=${DCF_CHECK_VARIANT:-device}
scale=${SCALE_MIB:-256}
out=${DCF_CHECK_OUT:-$pkg/build/gpu-check-$variant}
start=$(date +%s)
step() { echo; echo "== $* ($(( $(date +%s) - start )) s)"; }

echo "gpu-check of @dcformer/kernels-cuda, $(date -u '+%Y-%m-%d %H:%M UTC'), $(hostname)"
step "machine"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader
else
  echo "nvidia-smi: absent"
fi
if ! nvcc --version 2>/dev/null | tail -1; then
  echo "nvcc: absent"
  [ "$variant" = device ] && exit 2
fi
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//') ($(nproc) cores)"

# ARCHS: the GPU's own compute capability (SASS) when nvidia-smi says it, else sm_80 + sm_90
if [ -z "${ARCHS:-}" ] && command -v nvidia-smi >/dev/null; then
  cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '. ')
  [ -n "$cap" ] && export ARCHS=$cap
fi

# cuBLAS: DCF_CUBLAS if set, else the pip wheel's library in a Python environment, else the loader path
if [ -z "${DCF_CUBLAS:-}" ]; then
  for py in "${VIRTUAL_ENV:-}/bin/python" python3 python; do
    command -v "$py" >/dev/null 2>&1 || [ -x "$py" ] || continue
    dir=$(timeout 20 "$py" -c 'import nvidia.cublas, os; print(os.path.join(list(nvidia.cublas.__path__)[0], "lib"))' 2>/dev/null) || continue
    lib=$(ls "$dir"/libcublas.so* 2>/dev/null | grep -v Lt | head -1)
    [ -n "$lib" ] && export DCF_CUBLAS=$lib && break
  done
fi
if [ -z "${DCF_CUBLAS:-}" ]; then
  lib=$(timeout 60 find / -xdev -name 'libcublas.so.1[0-9]*' -not -path '/proc/*' 2>/dev/null | grep -v Lt | head -1)
  [ -n "$lib" ] && export DCF_CUBLAS=$lib
fi
echo "cuBLAS: ${DCF_CUBLAS:-not found (the GEMM rows use the tiled kernel)}"

step "build the driver ($variant build, ARCHS=${ARCHS:-80 90})"
timeout 300 bash "$pkg/driver/build.sh" "$variant" "$out" || { echo "driver build failed"; exit 1; }

step "kernels vs the CPU reference, each case scaled to ≥ $scale MiB"
if [ ! -f "$cases/manifest.txt" ]; then
  if command -v node >/dev/null && [ -d "$pkg/../../node_modules/@tensorflow" ]; then
    node "$pkg/scripts/make-driver-cases.mjs" "$cases" || exit 1
  else
    echo "no cases at $cases: run \`node scripts/make-driver-cases.mjs\` before sending the tree (and carry driver/cases)"
    exit 2
  fi
fi
timeout 300 "$out/dcf-driver" "$cases" --scale-mib "$scale" --min-ms 100
status=$?
if [ -n "${DCF_CUBLAS:-}" ] && [ "${DCF_CUBLAS}" != 0 ]; then
  step "GEMM on the tiled fallback kernel (DCF_CUBLAS=0)"
  for g in gemm_nn gemm_tn gemm_nt; do
    DCF_CUBLAS=0 timeout 120 "$out/dcf-driver" "$cases" --scale-mib $(( scale / 4 )) --min-ms 100 --only "$g" | grep "^$g" || status=1
  done
fi

step "Node: the device addon and a DCFormer on --backend cuda"
# the model check: bundle/model-check.mjs (scripts/bundle-model-check.mjs: needs only Node), else the
# script itself, which imports the installed workspace and the built dist/ of three packages
check="$pkg/bundle/model-check.mjs"
missing=""
if [ ! -f "$check" ]; then
  check="$pkg/scripts/model-check.mjs"
  for d in "$pkg/../../node_modules/@tensorflow/tfjs" "$pkg/dist" "$pkg/../model/dist" "$pkg/../train/dist"; do
    [ -e "$d" ] || missing="$missing ${d#"$pkg/"}"
  done
fi
if ! command -v node >/dev/null; then
  echo "node: absent (the driver above is the whole check)"
elif [ "$variant" != device ]; then
  node --version
  echo "(dry run: the host build stands in for the device, on a tiny model)"
  if [ -n "$missing" ]; then echo "model check skipped: missing$missing (npm ci && npm run build first)"
  elif timeout 300 node "$pkg/scripts/build-native.mjs" --host; then
    DCF_CUDA_VARIANT=host OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} timeout 300 node "$check" --preset tiny --batch 1 --seq 16 --decode 2 || status=1
  else
    status=1
  fi
else
  node --version
  archs=${ARCHS:+--archs sm_${ARCHS// /,sm_}}
  # into build/, where registerCudaBackend() loads it from
  if timeout 300 node "$pkg/scripts/build-native.mjs" --force $archs; then
    node -e "const a = require('$pkg/build/dcformer_cuda.node'); console.log(JSON.stringify(a.status()))"
    if [ -n "$missing" ]; then echo "model check skipped: no bundle/model-check.mjs (node scripts/bundle-model-check.mjs before sending) and missing$missing"
    else timeout 300 node "$check" --preset bench-small --batch 4 --seq 128 --decode 32 --compare || status=1
    fi
  else
    status=1
  fi
fi

step "Vulkan (webgpu through Dawn)"
if command -v vulkaninfo >/dev/null; then
  timeout 30 vulkaninfo --summary 2>/dev/null | grep -E 'deviceName|driverName|apiVersion' | head -6 || echo "vulkaninfo: no adapter"
else
  echo "vulkaninfo: absent; no Vulkan adapter reported"
fi

step "done; datasheet peaks for reference: H100 SXM 3.35 TB/s HBM3, 67 TFLOP/s FP32; H200 4.8 TB/s, 67 TFLOP/s FP32"
exit $status
