export * from './expect-close.js';
export * from './compose-conformance.js';
export * from './cross-entropy-conformance.js';
export * from './rms-norm-conformance.js';
export * from './rope-conformance.js';
export * from './gelu-conformance.js';
export * from './run-cases.js';
export * from './adamw-conformance.js';
