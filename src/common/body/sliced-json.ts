import { rawToJsonText, type RawJson } from '../json/canonical-json.js';
import type { Turns } from '../turns.js';

/**
 * A JSON value as text in pieces, so that the event loop can turn it into
 * objects a piece per turn: one `JSON.parse` of a 15 MB, 50,000-lot body
 * holds the event loop for over 100 ms, a 128 KB piece for about a millisecond.
 */
export interface SlicedJson {
  /** The value as JSON text, with each array listed in `arrays` written `[]`. */
  text: string;
  /** The array members of the top-level object (a generate body's `lots`): each element's JSON text, grouped into slices `[e,e,…]`. */
  arrays: { key: string; slices: string[] }[];
}

/** Characters of element text per slice. */
export const SLICE_CHARS = 128 * 1024;

type RawMembers = Extract<RawJson, { entries: RawJson[] }>;
const isObject = (node: RawJson): node is RawMembers =>
  typeof node === 'object' && node !== null && !Array.isArray(node) && 'entries' in node;

/**
 * `rawToJsonText(tree)` in pieces (the parser pool's side). Only the
 * effective member of a repeated key is sliced: JSON.parse lets the last
 * duplicate win, so earlier ones stay in `text` and are overwritten as before.
 * Takes the tree's top-level array members out of it.
 */
export function rawToSlicedJson(tree: RawJson, sliceChars = SLICE_CHARS): SlicedJson {
  const arrays: SlicedJson['arrays'] = [];
  if (isObject(tree)) {
    const last = new Map<string, number>();
    for (let i = 0; i < tree.entries.length; i += 2) last.set(tree.entries[i] as string, i + 1);
    for (const [key, at] of last) {
      const value = tree.entries[at];
      if (!Array.isArray(value)) continue;
      arrays.push({ key, slices: slicesOf(value, sliceChars) });
      tree.entries[at] = [];
    }
  }
  return { text: rawToJsonText(tree), arrays };
}

function slicesOf(elements: RawJson[], sliceChars: number): string[] {
  const slices: string[] = [];
  let pending: string[] = [];
  let chars = 0;
  for (const element of elements) {
    const text = rawToJsonText(element);
    pending.push(text);
    chars += text.length;
    if (chars >= sliceChars) {
      slices.push(`[${pending.join(',')}]`);
      pending = [];
      chars = 0;
    }
  }
  if (pending.length > 0) slices.push(`[${pending.join(',')}]`);
  return slices;
}

/**
 * Builds the value of a SlicedJson: exactly `JSON.parse` of the whole text,
 * one piece per `step()`. `inTurns` yields to the event loop between pieces
 * when the turn's budget is spent; `complete` finishes at once whatever is
 * left (a synchronous reader came first).
 */
export class SlicedJsonBuilder {
  private value: unknown;
  private started = false;
  private array = 0;
  private slice = 0;
  private elements: unknown[] = [];
  /** Pieces parsed by `complete` rather than in turns. */
  piecesAtOnce = 0;

  constructor(private readonly source: SlicedJson) {}

  get done(): boolean {
    return this.started && this.array === this.source.arrays.length;
  }

  /** Parses the next piece: the envelope first, then each array's slices in order. */
  private step(): void {
    // Each piece is dropped once parsed: the text of a large body is not kept beside its objects.
    if (!this.started) {
      this.value = JSON.parse(this.source.text);
      this.source.text = '';
      this.started = true;
      return;
    }
    const { key, slices } = this.source.arrays[this.array];
    if (this.slice < slices.length) {
      for (const element of JSON.parse(slices[this.slice]) as unknown[]) this.elements.push(element);
      slices[this.slice++] = '';
    }
    if (this.slice === slices.length) {
      // Redefined, not assigned: a `__proto__` member is an own property of a parsed object, and must stay one.
      Object.defineProperty(this.value as object, key, { value: this.elements, writable: true, enumerable: true, configurable: true });
      this.elements = [];
      this.slice = 0;
      this.array++;
    }
  }

  complete(): unknown {
    while (!this.done) {
      this.step();
      this.piecesAtOnce++;
    }
    return this.value;
  }

  async inTurns(turns: Turns): Promise<void> {
    while (!this.done) {
      this.step();
      if (turns.due()) await turns.next();
    }
  }
}
