/**
 * Where a symbol's ticks live in Redis: the stream layout producers and gateways agree on.
 *
 * With `--shards 1` (the default) every tick goes to the stream key itself (`ticks`). With `--shards N` (N > 1) a
 * symbol's ticks go to exactly one of N shard streams, so the symbol's order is one stream's order:
 *
 *   shard(sym, N) = fnv1a32(utf8(sym)) mod N           (FNV-1a, 32 bits: offset 2166136261, prime 16777619)
 *   key(stream, i, N) = `${stream}:${i}{${tag(i, N)}}`
 *   tag(i, N) = the smallest integer k ≥ 0 (in decimal) whose Redis Cluster slot, CRC16-XMODEM(k) mod 16384,
 *               lies in [floor(i·16384/N), floor((i+1)·16384/N))
 *
 * The hash tag puts shard i in the i-th N-th of the slot space, so N shards spread evenly over the masters of a
 * cluster whose slots are split evenly (what `redis-cli --cluster create` does), and a shard's dead-letter stream
 * (`key + ':dead'`) lands in the same slot. Changing N moves symbols to other keys: use a new stream name for it.
 *
 * Pure and browser-free: a producer in another language reproduces it from the lines above (keyOf/shardOf below
 * are the reference, test/unit/streams-shards.spec.ts pins example values).
 */

/** Slots of a Redis Cluster. */
export const CLUSTER_SLOTS = 16384;

const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

const utf8 = new TextEncoder();

/** CRC16-XMODEM, the checksum Redis Cluster hashes keys with. */
export function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < bytes.length; i++) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ bytes[i]) & 0xff];
  return crc;
}

/** The cluster slot of a key: CRC16 of its hash tag (the text between the first `{` and the next `}`, if non-empty) or of the whole key. */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  return crc16(utf8.encode(key)) % CLUSTER_SLOTS;
}

/** FNV-1a over the UTF-8 bytes of `text`, 32 bits. */
export function fnv1a32(text: string): number {
  const bytes = utf8.encode(text);
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193) >>> 0;
  return hash;
}

/** The shard (0 ≤ shard < shards) that holds `sym`'s ticks. */
export function shardOf(sym: string, shards: number): number {
  return fnv1a32(sym) % shards;
}

/** The hash tag of shard `i` of `shards`: the smallest integer whose slot is in the shard's share of the slot space. */
export function shardTag(i: number, shards: number): string {
  const from = Math.floor((i * CLUSTER_SLOTS) / shards);
  const to = Math.floor(((i + 1) * CLUSTER_SLOTS) / shards);
  for (let k = 0; ; k++) {
    const slot = keySlot(String(k));
    if (slot >= from && slot < to) return String(k);
  }
}

/** The stream keys a producer writes and a gateway reads: `[stream]` for one shard, else the N shard keys in shard order. */
export function shardKeys(stream: string, shards: number): string[] {
  if (shards <= 1) return [stream];
  return Array.from({ length: shards }, (_, i) => `${stream}:${i}{${shardTag(i, shards)}}`);
}

/** A symbol's stream key among `keys` (shardKeys of a stream). */
export function keyOf(sym: string, keys: readonly string[]): string {
  return keys.length === 1 ? keys[0] : keys[shardOf(sym, keys.length)];
}
