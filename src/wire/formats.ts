/**
 * Wire formats a connection can negotiate, and the topic naming that keeps each (symbol, format) on its own
 * uWebSockets.js topic so a batch is encoded and compressed once per format, never once per client.
 *
 * Browser-safe: imported by the client SDK.
 */

export const ENCODINGS = ['json', 'binary'] as const;
export type Encoding = (typeof ENCODINGS)[number];

export const COMPRESSIONS = ['none', 'lz4'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

/** Short, stable names used in topic strings and metric labels. */
export const FORMAT_NAMES = ['json', 'json+lz4', 'bin', 'bin+lz4'] as const;
export type FormatName = (typeof FORMAT_NAMES)[number];

export function formatName(encoding: Encoding, compression: Compression): FormatName {
  const base = encoding === 'json' ? 'json' : 'bin';
  return compression === 'lz4' ? (`${base}+lz4` as FormatName) : base;
}

/** `bin+lz4/BTC-USD`. Symbols may contain `/`; the format never does, so the first `/` splits them. */
export function topicFor(format: FormatName, symbol: string): string {
  return `${format}/${symbol}`;
}
