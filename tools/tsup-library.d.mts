import type { Options } from 'tsup';
export function libraryOptions(entry: string[], overrides?: Options): Options;
