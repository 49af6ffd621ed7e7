import { createTestDatabase } from '../support/database.js';
import { canonicalJson } from '../../src/auth/canonical-json.js';

test('toolchain', async () => {
  const db = await createTestDatabase();
  const rows = await db.query('SELECT id FROM api_clients');
  expect(rows).toEqual([{ id: 'default' }]);
  await db.drop();
  expect(canonicalJson({ b: 1, a: 'й' })).toBe('{"a":"\\u0439","b":1}');
});
