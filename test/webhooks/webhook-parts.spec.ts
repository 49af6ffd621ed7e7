import { planParts } from '../../src/webhooks/webhook-plan.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { startLoopbackServer, type LoopbackServer } from '../common/loopback-server.js';
import { allSettled, deliveries, driveUntil, finishedJobWithWebhooks } from './webhook-support.js';

describe('planParts', () => {
  const lot = (position: number, bytes: number, webhookUrl = 'https://a') => ({ position, webhookUrl, bytes });

  test('packs lots greedily per URL, counting commas, numbering parts per URL', () => {
    // envelope 100; lots of 40: 100+40 = 140, +41 = 181, +41 = 222 > 200 → new part
    const plan = planParts([lot(0, 40), lot(1, 40), lot(2, 40, 'https://b'), lot(3, 40), lot(4, 40)], 100, 200);
    expect(plan).toEqual([
      { webhookUrl: 'https://a', part: 1, parts: 2, positionFrom: 0, positionTo: 1, lotCount: 2, bytes: 181 },
      { webhookUrl: 'https://a', part: 2, parts: 2, positionFrom: 3, positionTo: 4, lotCount: 2, bytes: 181 },
      { webhookUrl: 'https://b', part: 1, parts: 1, positionFrom: 2, positionTo: 2, lotCount: 1, bytes: 140 },
    ]);
  });

  test('an exact fit stays in one part; one byte more splits; an oversized lot travels alone', () => {
    expect(planParts([lot(0, 50), lot(1, 49)], 100, 200)).toHaveLength(1); // 100 + 50 + 1 + 49 = 200
    expect(planParts([lot(0, 50), lot(1, 50)], 100, 200)).toHaveLength(2);
    const plan = planParts([lot(0, 10), lot(1, 5000), lot(2, 10)], 100, 200);
    expect(plan.map((part) => [part.positionFrom, part.positionTo, part.bytes])).toEqual([
      [0, 0, 110],
      [1, 1, 5100],
      [2, 2, 110],
    ]);
  });
});

interface PartPayload {
  part: number;
  parts: number;
  lots: { lot_id: string; descriptions: { damages: string }[] }[];
}

describe('bodies larger than WEBHOOK_MAX_BODY_BYTES are split into numbered parts', () => {
  const MAX = 2000;
  let t: TestApp;
  let receiver: LoopbackServer;

  beforeAll(async () => {
    receiver = await startLoopbackServer((_req, res) => void res.writeHead(204).end());
    t = await startTestApp({ env: { WEBHOOK_MAX_BODY_BYTES: String(MAX), WORKER_POLL_INTERVAL: '3600', OPENAI_MAX_RETRIES: '0' } });
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
  });

  test('every lot arrives exactly once, in order, each part within the limit and measured exactly', async () => {
    // Texts that JSON escapes differently from their raw length: quotes, backslashes, control characters, non-ASCII, emoji.
    const tricky = (i: number) => `<p>Lot ${i}: "Kratzer" \\ tür\n\tÄ ${'é'.repeat(i * 3)} \u0001 😀 ${'x'.repeat(i * 4)}</p>`;
    const lots = Array.from({ length: 14 }, (_, i) => ({
      lotId: `lot-${String(i).padStart(2, '0')}`,
      webhook: i % 4 === 3 ? `${receiver.url}/other` : `${receiver.url}/main`,
      en: tricky(i),
      translations: { de: tricky(i + 1), fr: tricky(i + 2), xx: 'not requested' },
      missing: i % 5 === 0 ? [`https://img.example.com/${i}/missing.jpg`] : [],
    }));
    const jobId = await finishedJobWithWebhooks(t, { languages: ['en', 'de', 'fr'], lots });
    await driveUntil([t], allSettled(t.db, jobId));

    const rows = await deliveries(t.db, jobId);
    const main = rows.filter((row) => row.webhook_url.endsWith('/main'));
    expect(main.length).toBeGreaterThan(2);
    expect(main.some((row) => row.lot_count >= 3)).toBe(true); // parts really pack several lots
    expect(rows.every((row) => row.status === 'delivered')).toBe(true);

    for (const path of ['/main', '/other']) {
      const bodies = receiver
        .to(path)
        .map((request) => ({ size: request.body.length, payload: JSON.parse(request.body.toString('utf8')) as PartPayload }));
      const parts = bodies.map((body) => body.payload.part).sort((a, b) => a - b);
      expect(parts).toEqual(Array.from({ length: bodies.length }, (_, i) => i + 1));
      expect(bodies.every((body) => body.payload.parts === bodies.length)).toBe(true);
      const ordered = bodies.sort((a, b) => a.payload.part - b.payload.part);
      const received = ordered.flatMap((body) => body.payload.lots);
      const expected = lots.filter((lot) => lot.webhook.endsWith(path));
      expect(received.map((lot) => lot.lot_id)).toEqual(expected.map((lot) => lot.lotId));
      expect(received.map((lot) => lot.descriptions.map((d) => d.damages))).toEqual(
        expected.map((lot) => [lot.en, lot.translations.de, lot.translations.fr]),
      );
      for (const body of ordered) {
        const multiLot = body.payload.lots.length > 1;
        if (multiLot) expect(body.size).toBeLessThanOrEqual(MAX);
        // The planner measured in PostgreSQL what JSON.stringify produced here, byte for byte:
        // the plan only reserved six digits for `part` and for `parts`.
        const row = rows.find((r) => r.webhook_url.endsWith(path) && r.part === body.payload.part)!;
        const digits = String(body.payload.part).length + String(body.payload.parts).length;
        expect(row.planned_bytes - body.size).toBe(12 - digits);
      }
    }
  });
});
