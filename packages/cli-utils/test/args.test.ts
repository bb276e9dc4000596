import { describe, expect, it } from 'vitest';
import { closestName, parseArgs, required, UsageError } from '../src/args.js';

const SPECS = {
  model: 'string',
  prefill: 'integer',
  json: 'boolean',
  help: 'boolean',
  'max-new-tokens': 'integer',
} as const;

describe('parseArgs', () => {
  it('reads --flag value, --flag=value, booleans and integers', () => {
    expect(parseArgs(['--model', 'a b', '--prefill=8', '--json', '--max-new-tokens', '-3'], SPECS)).toEqual({
      model: 'a b',
      prefill: 8,
      json: true,
      'max-new-tokens': -3,
    });
    expect(parseArgs(['--json=false', '--model=x=y', '-h'], SPECS)).toEqual({ json: false, model: 'x=y', help: true });
    expect(parseArgs([], SPECS)).toEqual({});
  });

  it.each([
    [
      ['--modle', 'x'],
      /^unknown flag --modle; did you mean --model\? \(valid: --model, --prefill, --json, --help, --max-new-tokens\)$/,
    ],
    [['--max-new', '3'], /^unknown flag --max-new; did you mean --max-new-tokens\? \(valid: /],
    [['--nope'], /^unknown flag --nope \(valid: --model, --prefill, --json, --help, --max-new-tokens\)$/],
    [['--model'], /^--model needs a value$/],
    [['--model', '--json'], /^--model needs a value$/],
    [['--model='], /^--model needs a value$/],
    [['--prefill', '1.5'], /^--prefill must be an integer; got '1.5'$/],
    [['--prefill', '1e3'], /^--prefill must be an integer; got '1e3'$/],
    [['--json=yes'], /^--json takes no value or =true\/=false; got 'yes'$/],
    [['--model', 'a', '--model', 'b'], /^--model given twice$/],
    [['stray'], /^unexpected argument 'stray'/],
    [['-x'], /^unexpected argument '-x'/],
  ])('%j -> UsageError', (argv, message) => {
    expect(() => parseArgs(argv, SPECS)).toThrow(UsageError);
    expect(() => parseArgs(argv, SPECS)).toThrow(message);
  });

  it('does not treat inherited object keys as flags', () => {
    expect(() => parseArgs(['--toString', 'x'], SPECS)).toThrow(/unknown flag --toString/);
  });

  it('repeats list flags, and reads numbers strictly', () => {
    const specs = { data: 'list', lr: 'number' } as const;
    expect(parseArgs(['--data', 'a', '--data=b', '--lr', '1e-3'], specs)).toEqual({ data: ['a', 'b'], lr: 1e-3 });
    expect(() => parseArgs(['--data='], specs)).toThrow(/^--data needs a value$/);
    expect(() => parseArgs(['--lr', ' 3'], specs)).toThrow(/^--lr must be a number; got ' 3'$/);
    expect(() => parseArgs(['--lr', 'x'], specs)).toThrow(/^--lr must be a number; got 'x'$/);
  });

  it('closestName: prefixes, transpositions and typos within a third of the length; nothing far', () => {
    const names = ['model', 'input', 'max-new-tokens', 'temperature', 'top-k', 'top-p', 'stream', 'stop'];
    expect(closestName('modle', names)).toBe('model');
    expect(closestName('temprature', names)).toBe('temperature');
    expect(closestName('max-new', names)).toBe('max-new-tokens');
    expect(closestName('topk', names)).toBe('top-k');
    expect(closestName('top', ['top-k', 'top-p'])).toBeUndefined(); // a prefix of two names, 2 edits from each
    expect(closestName('stremm', names)).toBe('stream');
    expect(closestName('xyz', names)).toBeUndefined();
    expect(closestName('generat', ['logits', 'generate', 'eval'])).toBe('generate');
  });

  it('required() names the missing flag', () => {
    expect(required('x', 'model')).toBe('x');
    expect(() => required(undefined, 'model')).toThrow(/^missing --model$/);
  });
});
