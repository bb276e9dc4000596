import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '@dcformer/kernels';
import { UsageError } from '../src/args.js';
import { CliError, EXIT_FAILURE, EXIT_USAGE, reportError, type Io } from '../src/report.js';

function capture(): { io: Io; err: () => string } {
  let err = '';
  return { io: { stdout: { write: () => true }, stderr: { write: (s: string) => (err += s) } }, err: () => err };
}

class TrainingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingError';
  }
}

const debug = process.env.DCF_DEBUG;
afterEach(() => {
  if (debug === undefined) delete process.env.DCF_DEBUG;
  else process.env.DCF_DEBUG = debug;
});

describe('reportError', () => {
  it('one line per failure, with the exit code of its kind', () => {
    delete process.env.DCF_DEBUG;
    const cases: [unknown, number, string, string[]?][] = [
      [new UsageError('missing --out'), EXIT_USAGE, 'x: missing --out\n'],
      [new CliError('ids.json: not JSON\n  at line 2'), EXIT_FAILURE, 'x: ids.json: not JSON at line 2\n'],
      [new InputError('bad ids'), EXIT_FAILURE, 'x: bad ids\n'],
      [
        Object.assign(new Error('ENOENT: no such file, open a'), { code: 'ENOENT' }),
        EXIT_FAILURE,
        'x: ENOENT: no such file, open a\n',
      ],
      [
        new TrainingError('5 steps in a row'),
        EXIT_FAILURE,
        'x: internal error: 5 steps in a row (DCF_DEBUG=1 shows the stack)\n',
      ],
      [new TrainingError('5 steps in a row'), EXIT_FAILURE, 'x: 5 steps in a row\n', ['TrainingError']],
      ['a string', EXIT_FAILURE, 'x: internal error: a string (DCF_DEBUG=1 shows the stack)\n'],
    ];
    for (const [error, code, line, userFacing] of cases) {
      const c = capture();
      expect(reportError('x', error, c.io, { userFacing })).toBe(code);
      expect(c.err()).toBe(line);
    }
  });

  it('adds the stack under DCF_DEBUG=1', () => {
    process.env.DCF_DEBUG = '1';
    const c = capture();
    reportError('x', new Error('boom'), c.io);
    expect(c.err().split('\n')[0]).toBe('x: internal error: boom');
    expect(c.err()).toMatch(/\n\s*at /);
  });
});
