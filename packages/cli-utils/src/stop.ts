/**
 * Requests to stop a long run (dcformer-train), from wherever they come: SIGINT (Ctrl-C), SIGTERM,
 * a parent process that forwards them (relaunch.ts), or that parent dying. One place decides what a
 * request means, so the same key press never counts twice:
 * - while nothing is being saved (no `watchStop` active), a request ends the process at once with
 *   128 + the signal number, as the default handlers would;
 * - while a run watches, the first request asks it to finish the step, checkpoint and stop; only a
 *   second *signal received here* (Ctrl-C twice) or a forced request from the parent (it was
 *   signalled twice) quits at once. A request forwarded by the parent never escalates on its own:
 *   Ctrl-C in a terminal reaches the parent and the child alike, and must count once.
 */

export type StopReason = 'SIGINT' | 'SIGTERM' | 'parent exited';

/** The message a parent sends its re-spawned child (relaunch.ts). */
export interface StopMessage {
  dcformerStop: 'SIGINT' | 'SIGTERM';
  /** The parent was signalled twice: quit without saving. */
  force: boolean;
}

const EXIT_CODE: Record<StopReason, number> = { SIGINT: 130, SIGTERM: 143, 'parent exited': 129 };

interface Watcher {
  onStop: (reason: StopReason) => void;
  onForce: () => void;
}

let watcher: Watcher | null = null;
let requested = false;
let signalsHere = 0;
let installed: (() => void) | null = null;

function request(reason: StopReason, from: 'here' | 'parent', force = false): void {
  if (watcher === null) process.exit(EXIT_CODE[reason]);
  if (from === 'here' && reason !== 'parent exited') signalsHere++;
  if (force || signalsHere >= 2) {
    watcher.onForce();
    return;
  }
  if (requested) return;
  requested = true;
  watcher.onStop(reason);
}

export function isStopMessage(m: unknown): m is StopMessage {
  const s = (m as Partial<StopMessage> | null)?.dcformerStop;
  return s === 'SIGINT' || s === 'SIGTERM';
}

/**
 * Listens for SIGINT, SIGTERM and, in a child with an IPC channel, the parent's stop messages and
 * its disappearance. Idempotent; returns the function that removes the listeners (only the call
 * that installed them removes them).
 */
export function installStopSignals(): () => void {
  if (installed !== null) return () => {};
  const onInt = () => request('SIGINT', 'here');
  const onTerm = () => request('SIGTERM', 'here');
  const onMessage = (m: unknown) => {
    if (isStopMessage(m)) request(m.dcformerStop, 'parent', m.force);
  };
  const onDisconnect = () => request('parent exited', 'parent');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  const child = typeof process.send === 'function';
  if (child) {
    process.on('message', onMessage);
    process.on('disconnect', onDisconnect);
  }
  const uninstall = () => {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    if (child) {
      process.off('message', onMessage);
      process.off('disconnect', onDisconnect);
    }
    installed = null;
  };
  installed = uninstall;
  return uninstall;
}

/**
 * While a run can save its work: the first stop request calls `onStop` (finish the step, checkpoint,
 * stop), a second signal or a forced request calls `onForce`. `requested()` says whether a stop was
 * asked; `release()` ends the watch (later requests end the process at once again).
 */
export function watchStop(
  onStop: (reason: StopReason) => void,
  onForce: () => void,
): { requested: () => boolean; release: () => void } {
  const uninstall = installStopSignals();
  watcher = { onStop, onForce };
  requested = false;
  signalsHere = 0;
  return {
    requested: () => requested,
    release: () => {
      watcher = null;
      uninstall();
    },
  };
}
