export interface FuzzSummary {
  seconds: number;
  totals: Record<string, number>;
  stats: Record<string, Record<string, number>>;
  failures: unknown[];
}
export function runFuzz(
  args: string[],
  env?: NodeJS.ProcessEnv,
): Promise<{ code: number | null; summary: FuzzSummary }>;
export function runSmoke(pkg: string): Promise<{ code: number | null; failures: unknown[] }>;
