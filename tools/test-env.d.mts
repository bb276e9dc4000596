/** True when CI is set to anything but '', '0' or 'false' (any case). */
export function inCI(): boolean;
/** A test's prerequisite (a browser, a Vulkan driver, a data file) is missing while CI is set. */
export class MissingTestToolError extends Error {
  readonly missing: string;
  constructor(label: string, missing: string);
}
/** False when `missing` is null; under CI throws MissingTestToolError naming it; elsewhere warns and returns true (skip). */
export function skipUnlessCI(label: string, missing: string | null): boolean;
