import { parseRawJson, rawToJsonText } from '../../src/common/json/canonical-json.js';
import { rawToSlicedJson, SlicedJsonBuilder } from '../../src/common/body/sliced-json.js';
import { Turns } from '../../src/common/turns.js';

/*
 * A large body crosses from the parser pool as text in slices and becomes
 * objects a slice per event-loop turn: the value must be exactly the one
 * JSON.parse of the whole text gives, whichever way it is built.
 */

const lotsOf = (count: number) =>
  Array.from({ length: count }, (_, i) => ({
    lot_id: `lot-${i}`,
    additional_info: i % 3 === 0 ? null : `Vehicle ${i}: Ünïcode ✓ "quoted" \\ ${'d'.repeat(i % 50)}`,
    images: [{ url: `https://img.example.com/${i}/1.jpg` }],
  }));

const TEXTS: [string, string][] = [
  ['a generate body', JSON.stringify({ version: '1.0.0', languages: ['en', 'de'], lots: lotsOf(500) })],
  ['lots repeated: the last one wins, in the first one’s place', `{"lots":[1,2,3],"version":"1","lots":[{"a":1},{"b":[2]}],"z":[]}`],
  ['a __proto__ member holding an array stays an own property', `{"__proto__":[{"polluted":true}],"lots":[{"__proto__":{"x":1}}]}`],
  ['empty arrays and arrays of scalars', `{"a":[],"b":[1,2.50,-0,1e400,"x",true,null],"c":{"nested":[1,2]}}`],
  ['no arrays at all', `{"version":"1.0.0","n":1.0}`],
  ['a top-level array (not sliced)', `[{"a":1},[2,3]]`],
  ['a top-level scalar', `"just text"`],
  ['escapes and surrogate pairs', `{"lots":["\\u00e9\\n\\"", "🚗", {"k\\u0000":"v"}]}`],
];

function reference(text: string): unknown {
  return JSON.parse(rawToJsonText(parseRawJson(text)));
}

describe('rawToSlicedJson + SlicedJsonBuilder', () => {
  test.each(TEXTS)('%s: complete() gives JSON.parse of the whole text', (_name, text) => {
    const sliced = rawToSlicedJson(parseRawJson(text), 256);
    expect(new SlicedJsonBuilder(sliced).complete()).toStrictEqual(reference(text));
  });

  test.each(TEXTS)('%s: built in turns, the same value', async (_name, text) => {
    const builder = new SlicedJsonBuilder(rawToSlicedJson(parseRawJson(text), 256));
    await builder.inTurns(new Turns(0));
    expect(builder.piecesAtOnce).toBe(0);
    expect(builder.complete()).toStrictEqual(reference(text));
    expect(builder.piecesAtOnce).toBe(0);
  });

  test('the top-level arrays are cut into slices of about the given size, in order, and only they', () => {
    const text = JSON.stringify({ version: '1.0.0', languages: ['en'], lots: lotsOf(500), meta: { list: [1, 2] } });
    const sliced = rawToSlicedJson(parseRawJson(text), 4096);
    expect(sliced.arrays.map((array) => array.key)).toEqual(['languages', 'lots']);
    expect(JSON.parse(sliced.text)).toEqual({ version: '1.0.0', languages: [], lots: [], meta: { list: [1, 2] } });
    const slices = sliced.arrays[1].slices;
    expect(slices.length).toBeGreaterThan(10);
    for (const slice of slices.slice(0, -1)) expect(slice.length).toBeLessThan(4096 + 400);
    expect(slices.flatMap((slice) => JSON.parse(slice) as unknown[])).toStrictEqual(JSON.parse(text).lots);
  });

  test('a __proto__ array member is an own property and the prototype is untouched', () => {
    const value = new SlicedJsonBuilder(rawToSlicedJson(parseRawJson(`{"__proto__":[1,2]}`))).complete() as object;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(value, '__proto__')).toEqual({
      value: [1, 2],
      writable: true,
      enumerable: true,
      configurable: true,
    });
  });

  test('a synchronous reader in the middle of building in turns completes the value; the turns then stop', async () => {
    const text = JSON.stringify({ lots: lotsOf(300) });
    const builder = new SlicedJsonBuilder(rawToSlicedJson(parseRawJson(text), 512));
    const turns = new Turns(0);
    const building = builder.inTurns(turns);
    await turns.next(); // the builder has parsed some slices, not all
    expect(builder.done).toBe(false);
    const value = builder.complete();
    expect(builder.piecesAtOnce).toBeGreaterThan(0);
    await building;
    expect(value).toStrictEqual(reference(text));
    expect(builder.complete()).toBe(value);
  });
});

describe('Turns', () => {
  test('due() once the budget is spent; next() yields to the event loop and starts a new turn', async () => {
    expect(new Turns(60_000).due()).toBe(false);
    const turns = new Turns(0);
    expect(turns.due()).toBe(true);
    let immediateRan = false;
    setImmediate(() => (immediateRan = true));
    await turns.next();
    expect(immediateRan).toBe(true);
    expect(turns.yields).toBe(1);
  });
});
