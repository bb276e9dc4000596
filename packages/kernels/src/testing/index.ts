export * from './expect-close.js';
export * from './compose-conformance.js';
