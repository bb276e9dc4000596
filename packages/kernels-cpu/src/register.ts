/**
 * Side-effect entry: `import '@dcformer/kernels-cpu/register'` makes the tfjs `cpu` backend use the
 * native kernels when the addon is built, and says once on stderr which path runs.
 */
import { registerCpuKernels } from './register-all.js';

registerCpuKernels('cpu');
