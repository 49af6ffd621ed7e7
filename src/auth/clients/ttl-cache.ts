import type { Clock } from '../../common/clock.js';

/**
 * A small in-memory cache with a time to live and a size bound (least recently used out first), on the app's
 * Clock so tests move time instead of sleeping. A TTL of 0 caches nothing.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  /** The cached value, or `undefined` when absent or stale (a cached `null` is a value: "known not to exist"). */
  get(key: string): { value: V } | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.until <= this.clock.now()) return undefined;
    this.entries.set(key, entry); // most recently used last
    return { value: entry.value };
  }

  /** Keeps `value` for the TTL, or less when `notAfter` (epoch ms) comes first (a key that expires sooner). */
  set(key: string, value: V, notAfter = Number.POSITIVE_INFINITY): void {
    if (this.ttlMs <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, { value, until: Math.min(this.clock.now() + this.ttlMs, notAfter) });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
