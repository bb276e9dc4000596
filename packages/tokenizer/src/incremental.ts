/**
 * Streaming decoders for generation. Both hold back text until it is certain, so a printed prefix
 * is never revised and a UTF-8 character is never emitted in halves.
 */
import type { IncrementalDecoder } from './types.js';

/**
 * For tokenizers whose ids stand for byte strings (byte-level BPE): bytes go through a streaming
 * UTF-8 decoder, which keeps an incomplete character until its last byte arrives.
 */
export class ByteStreamDecoder implements IncrementalDecoder {
  private readonly utf8 = new TextDecoder('utf-8');
  constructor(private readonly bytesOf: (id: number) => Uint8Array | null) {}

  push(id: number): string {
    const bytes = this.bytesOf(id);
    return bytes === null || bytes.length === 0 ? '' : this.utf8.decode(bytes, { stream: true });
  }

  flush(): string {
    return this.utf8.decode(); // an incomplete tail becomes U+FFFD, as in a whole decode
  }
}

/**
 * For any other decoder chain (Metaspace, ByteFallback...): decode the last id together with the
 * new one and emit what the new one adds. The context id makes the chain's first-token rules
 * (Metaspace dropping a leading space) apply to the context in both decodes, so they cancel out,
 * except at the very start, where they should apply. Text ending in U+FFFD (bytes of an unfinished
 * character) waits for more ids.
 */
export class WindowDecoder implements IncrementalDecoder {
  private ids: number[] = [];
  private emitted = ''; // the text of `ids` already emitted

  constructor(private readonly decodeIds: (ids: number[]) => string) {}

  push(id: number): string {
    this.ids.push(id);
    const text = this.decodeIds(this.ids);
    if (text.endsWith('\uFFFD') || !text.startsWith(this.emitted)) return '';
    const fresh = text.slice(this.emitted.length);
    this.ids = this.ids.slice(-1);
    this.emitted = this.decodeIds(this.ids);
    return fresh;
  }

  flush(): string {
    const text = this.decodeIds(this.ids);
    const fresh = text.startsWith(this.emitted) ? text.slice(this.emitted.length) : '';
    this.ids = [];
    this.emitted = '';
    return fresh;
  }
}
