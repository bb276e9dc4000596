#!/usr/bin/env node
// The set-up half of `npm start` and `npm test`, so that a fresh clone needs nothing else: `npm ci`
// when node_modules is missing or older than package-lock.json, then the build (turbo; cached, so a
// second run costs a second or two). Says what it does from the first second: on a fresh machine the
// install and the native build take a minute or more.
//
//   node tools/ensure-install.mjs [--build-for PACKAGE ...]
//
// --build-for (repeatable) builds only those packages and what they depend on: `npm start` needs the
// CLIs, not the browser demo. Without it, every package. --js-only skips the type declarations
// (DCFORMER_JS_ONLY=1 for tools/tsup-library.mjs): they are nine tenths of a fresh build's time and
// nothing that runs needs them; turbo hashes the variable, so a later full build makes them.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const buildFor = [];
let jsOnly = false;
for (let i = 0; i < args.length; i += 2) {
  if (args[i] === '--js-only') {
    jsOnly = true;
    i -= 1;
    continue;
  }
  if (args[i] !== '--build-for' || args[i + 1] === undefined) {
    process.stderr.write(
      `ensure-install: expected --build-for PACKAGE (repeatable), --js-only or nothing; got '${args.join(' ')}'\n`,
    );
    process.exit(2);
  }
  buildFor.push(args[i + 1]);
}
// npm sets npm_lifecycle_event to the script's name: the lines read "npm start: …" / "npm test: …".
const who = `npm ${process.env.npm_lifecycle_event ?? 'run'}`;
const t0 = performance.now();
const seconds = (since) => `${((performance.now() - since) / 1000).toFixed(0)} s`;

function say(line) {
  process.stderr.write(`${who}: ${line}\n`);
}

function run(command, args, what, env = process.env) {
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) {
    say(`${what} failed (${r.error ? r.error.message : (r.signal ?? `exit code ${r.status}`)}); see the output above`);
    process.exit(r.status || 1);
  }
}

/**
 * Why node_modules needs `npm ci`, or null. npm rewrites node_modules/.package-lock.json on every
 * install, so its age is the install's; 2 s of slack because npm writes it and package-lock.json
 * in the same install, in an unspecified order.
 */
function installReason() {
  const lock = join(root, 'package-lock.json');
  const stamp = join(root, 'node_modules', '.package-lock.json');
  if (!existsSync(join(root, 'node_modules'))) return 'node_modules is missing';
  if (!existsSync(stamp)) return 'node_modules was not installed by npm';
  if (statSync(stamp).mtimeMs + 2000 < statSync(lock).mtimeMs) return 'package-lock.json is newer than node_modules';
  return null;
}

const reason = installReason();
if (reason !== null) {
  say(
    `${reason}: installing with npm ci (about a minute with a warm npm cache; @dcformer/kernels-cpu compiles its native addon when g++ is here)`,
  );
  const t = performance.now();
  // --foreground-scripts: the native build's own lines (built, or why not) show instead of a silent minute.
  run('npm', ['ci', '--no-audit', '--no-fund', '--foreground-scripts'], 'npm ci');
  say(`installed in ${seconds(t)}`);
}

const what = buildFor.length > 0 ? `${buildFor.join(', ')} and what they depend on` : 'every package';
say(`building ${what}${jsOnly ? ', JavaScript only' : ''} (turbo; one line per package, cached after the first build)`);
const t = performance.now();
const filter = buildFor.map((p) => `--filter=${p}...`);
const env = jsOnly ? { ...process.env, DCFORMER_JS_ONLY: '1' } : process.env;
run(
  join(root, 'node_modules', '.bin', 'turbo'),
  ['run', 'build', ...filter, '--output-logs=hash-only'],
  'the build',
  env,
);
say(`built in ${seconds(t)}; set-up took ${seconds(t0)}`);
