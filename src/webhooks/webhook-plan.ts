import type { WebhookLotSize } from '../jobs/job-pipeline.service.js';
import type { Job, LotResult } from '../jobs/job.types.js';
import { lotResultView } from '../jobs/job-views.js';
import type { WebhookEvent } from './webhook-delivery.entity.js';
import type { CostView } from '../jobs/usage/usage-views.js';
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

/** Size of a payload with no lots (its `"lots":[]` included); `cost`: the job's, final once it finished. */
export function envelopeBytes(job: Job, event: WebhookEvent, cost?: CostView): number {
  return Buffer.byteLength(JSON.stringify(buildPayload(job, event, [], WIDEST_PART_NUMBER, WIDEST_PART_NUMBER, cost)), 'utf8');
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

/**
 * Measures every lot that named a webhook from the sizes the jobs module
 * reports (the JSON-escaped length of each text, computed by PostgreSQL): the
 * rest of the lot's view is serialised here with empty descriptions, so the
 * descriptions themselves never cross the wire at enqueue time.
 */
export function measureLots(rows: WebhookLotSize[], job: Job): MeasuredLot[] {
  return rows.map((row) => {
    const textBytes = (language: string) => (language === 'en' ? row.en_bytes : row.translation_bytes?.[language]) ?? null;
    const skeleton: LotResult = {
      id: '',
      position: row.position,
      lotId: row.lot_id,
      status: row.status,
      processedAt: row.processed_at,
      processedImages: row.processed_images,
      missingImages: row.missing_images ?? [],
      errorMessage: row.error_message,
      visionResult: row.en_bytes === null ? null : '',
      translations: Object.fromEntries(Object.keys(row.translation_bytes ?? {}).map((language) => [language, ''])),
    };
    let bytes = Buffer.byteLength(JSON.stringify(lotResultView(skeleton, job.languages)), 'utf8');
    for (const language of job.languages) {
      const measured = textBytes(language);
      if (measured !== null) bytes += measured - 2; // the skeleton already counted `""`
    }
    return { position: row.position, webhookUrl: row.webhook_url, bytes };
  });
}
