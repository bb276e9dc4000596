/** --stop's text filter: what is released while streaming, across pieces, and the final text. */
import { describe, expect, it } from 'vitest';
import { StopText } from '../src/commands/stop-text.js';

function feed(stops: string[], pieces: string[]): { released: string[]; value: string; stopped: boolean } {
  const t = new StopText(stops);
  const released = pieces.map((p) => t.push(p));
  if (!t.stopped) released.push(t.flush());
  return { released, value: t.value, stopped: t.stopped };
}

describe('StopText', () => {
  it('a stop string split over pieces is held back, never printed, and ends the text before it', () => {
    expect(feed(['\n\nEND'], ['Hello', ' world\n', '\nE', 'ND and more'])).toEqual({
      released: ['Hello', ' world', '', ''],
      value: 'Hello world',
      stopped: true,
    });
  });

  it('a held-back prefix that turns out not to be a stop is released as plain text', () => {
    expect(feed(['STOP'], ['a ST', 'ART'])).toEqual({
      released: ['a ', 'START', ''],
      value: 'a START',
      stopped: false,
    });
    expect(feed(['STOP'], ['a ST'])).toEqual({ released: ['a ', 'ST'], value: 'a ST', stopped: false });
  });

  it('the earliest of several stops wins; a stop inside one piece cuts there', () => {
    expect(feed(['b', 'cd'], ['xxcdyyb'])).toEqual({ released: ['xx'], value: 'xx', stopped: true });
    expect(feed(['.'], ['First. Second.'])).toEqual({ released: ['First'], value: 'First', stopped: true });
  });

  it('nothing after a stop is taken', () => {
    const t = new StopText(['!']);
    expect(t.push('hi!')).toBe('hi');
    expect(t.push('more')).toBe('');
    expect(t.value).toBe('hi');
  });
});
