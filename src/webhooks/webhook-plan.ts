import type { EntityManager } from 'typeorm';
import type { BatchJob } from '../jobs/entities/batch-job.entity.js';
import type { BatchLot } from '../jobs/entities/batch-lot.entity.js';
import type { JobStatus } from '../jobs/job.types.js';
import { lotResultView } from '../jobs/job-views.js';
import type { WebhookEvent } from './webhook-delivery.entity.js';
import { buildPayload } from './webhook-payload.js';

/** A lot that named a webhook URL, with the exact size of its JSON in the payload. */
export interface MeasuredLot {
  position: number;
  webhookUrl: string;
  bytes: number;
}

/** One delivery row to create: a contiguous run of one URL's lots. */
export interface PlannedPart {
  webhookUrl: string;
  part: number;
  parts: number;
  positionFrom: number;
  positionTo: number;
  lotCount: number;
  bytes: number;
}

/** Widest `part`/`parts` values, so an envelope measured with them is an upper bound. */
const WIDEST_PART_NUMBER = 999_999;

/** Size of a payload with no lots (its `"lots":[]` included). */
export function envelopeBytes(job: BatchJob, event: WebhookEvent): number {
  return Buffer.byteLength(JSON.stringify(buildPayload(job, event, [], WIDEST_PART_NUMBER, WIDEST_PART_NUMBER)), 'utf8');
}

/**
 * Splits each URL's lots (already in request order) into parts whose body
 * stays within `maxBytes`. A single lot larger than the limit still travels,
 * alone in its part: it cannot be split and must not be dropped.
 */
export function planParts(lots: MeasuredLot[], envelope: number, maxBytes: number): PlannedPart[] {
  const byUrl = new Map<string, MeasuredLot[]>();
  for (const lot of lots) {
    const group = byUrl.get(lot.webhookUrl);
    if (group) group.push(lot);
    else byUrl.set(lot.webhookUrl, [lot]);
  }
  const planned: PlannedPart[] = [];
  for (const [webhookUrl, group] of byUrl) {
    const parts: Omit<PlannedPart, 'part' | 'parts'>[] = [];
    let current: Omit<PlannedPart, 'part' | 'parts'> | undefined;
    for (const lot of group) {
      const added = current && current.lotCount > 0 ? lot.bytes + 1 : lot.bytes; // + the comma
      if (current && current.bytes + added > maxBytes) current = undefined;
      if (!current) {
        current = { webhookUrl, positionFrom: lot.position, positionTo: lot.position, lotCount: 1, bytes: envelope + lot.bytes };
        parts.push(current);
        continue;
      }
      current.positionTo = lot.position;
      current.lotCount += 1;
      current.bytes += added;
    }
    parts.forEach((part, index) => planned.push({ ...part, part: index + 1, parts: parts.length }));
  }
  return planned;
}

interface MeasureRow {
  position: number;
  webhook_url: string;
  lot_id: string;
  status: JobStatus;
  processed_at: Date | null;
  processed_images: number;
  missing_images: string[] | null;
  error_message: string | null;
  en_bytes: number | null;
  translation_bytes: Record<string, number> | null;
}

/**
 * Measures every lot that named a webhook, without loading the descriptions:
 * PostgreSQL reports the JSON-escaped length of each text (its escaping of
 * `"`, `\` and control characters matches JSON.stringify), and the rest of the
 * lot's view is serialised here with empty descriptions. 50,000 lots × 10
 * languages stay in the database instead of crossing the wire at enqueue time.
 */
export async function measureLots(manager: EntityManager, job: BatchJob): Promise<MeasuredLot[]> {
  const rows: MeasureRow[] = await manager.query(
    `SELECT l.position, l.webhook_url, l.lot_id, l.status, l.processed_at, l.processed_images, l.missing_images, l.error_message,
            octet_length(to_json(l.vision_result)::text) AS en_bytes,
            (SELECT jsonb_object_agg(t.key, octet_length(t.value::text))
               FROM jsonb_each(CASE WHEN jsonb_typeof(l.translations) = 'object' THEN l.translations ELSE '{}'::jsonb END) t
              WHERE jsonb_typeof(t.value) = 'string') AS translation_bytes
       FROM batch_lots l
      WHERE l.batch_job_id = $1 AND l.webhook_url IS NOT NULL AND l.webhook_url <> ''
      ORDER BY l.position`,
    [job.id],
  );
  return rows.map((row) => {
    const textBytes = (language: string) => (language === 'en' ? row.en_bytes : row.translation_bytes?.[language]) ?? null;
    const skeleton = {
      lotId: row.lot_id,
      status: row.status,
      processedAt: row.processed_at,
      processedImages: row.processed_images,
      missingImages: row.missing_images ?? [],
      errorMessage: row.error_message,
      visionResult: row.en_bytes === null ? null : '',
      translations: Object.fromEntries(Object.keys(row.translation_bytes ?? {}).map((language) => [language, ''])),
    } as unknown as BatchLot;
    let bytes = Buffer.byteLength(JSON.stringify(lotResultView(skeleton, job.languages)), 'utf8');
    for (const language of job.languages) {
      const measured = textBytes(language);
      if (measured !== null) bytes += measured - 2; // the skeleton already counted `""`
    }
    return { position: row.position, webhookUrl: row.webhook_url, bytes };
  });
}
