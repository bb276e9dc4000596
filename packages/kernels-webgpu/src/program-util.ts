/**
 * Helpers shared by the programs. Only *types* come from @tensorflow/tfjs-backend-webgpu: importing
 * its values would load the package, whose import registers the backend only if `navigator.gpu`
 * already exists — in Node that must wait until installNodeWebGPU() has run.
 */

/**
 * Workgroup count for `invocations` one-dimensional invocations. tfjs's runWebGPUProgram folds counts
 * above the per-dimension limit (65535) into y/z and getGlobalIndex() unfolds them.
 */
export function flatDispatch(invocations: number, workgroupSize: [number, number, number]): [number, number, number] {
  return [Math.max(1, Math.ceil(invocations / workgroupSize[0])), 1, 1];
}
