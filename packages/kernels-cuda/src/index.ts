export { cudaStatus, type CudaStatus } from './status.js';
export { loadAddon, type AddonStatus, type AddonVariant, type CudaAddon } from './native.js';
export { addonKernels, registerAddonKernels, unregisterAddonKernels } from './addon-kernels.js';
export { CudaBackend, registerCudaBackend } from './backend.js';
