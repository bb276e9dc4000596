/**
 * Side-effect entry: `import '@dcformer/kernels-webgpu/register'` registers every kernel of this
 * package for the 'webgpu' backend. In Node, run installNodeWebGPU() (@dcformer/kernels-webgpu/node)
 * and import @tensorflow/tfjs-backend-webgpu first.
 */
import { registerWebGPUKernels } from './kernels.js';

registerWebGPUKernels();
