import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { SafeHttpClient } from '../common/http/safe-http-client.js';
import { AppConfig } from '../config/app-config.js';
import { JobPipelineService } from '../jobs/job-pipeline.service.js';
import { WorkerTaskRegistry } from '../worker/worker-task.js';
import { isTransitionEvent, type WebhookDelivery } from './webhook-delivery.entity.js';
import { WebhookDeliveryRepository } from './webhook-delivery.repository.js';
import { serializePayload } from './webhook-payload.js';
import { decideAttempt, type AttemptResult, type Decision } from './webhook-retry-policy.js';
import { sharedKeyWebhookSecret, webhookHeaders } from './webhook-signature.js';
import { DEFAULT_CLIENT_ID } from '../auth/api-client.js';
import { ClientsService } from '../auth/clients/clients.service.js';
import { DatabaseOutageMonitor } from '../database/database-outage.js';
import { withLogFields } from '../common/logging/log-context.js';
import { annotateActiveSpan, withSpan } from '../common/tracing/tracing.js';

export const WEBHOOK_TASK_NAME = 'webhook-delivery';
/** Deliveries claimed (and sent concurrently) at a time by one worker. */
const CLAIM_BATCH = 8;
/** Beyond the HTTP timeout, time a claim stays leased for building the body and recording the outcome. */
const LEASE_MARGIN_MS = 60_000;
/** One run stops claiming after this long so a flood of due rows cannot pin a tick forever. */
const RUN_BUDGET_MS = 60_000;
/** Response bytes kept per attempt (issue 5: a bounded excerpt). */
export const EXCERPT_BYTES = 1024;
const MAX_ERROR_CHARS = 2000;

type ClaimedDelivery = WebhookDelivery & { attempt: number };

/** The receiver's host for the span (never the URL: its query may carry the receiver's own token). */
function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

/** PostgreSQL text cannot hold NUL; receivers' answers are arbitrary bytes. */
const storable = (text: string, max: number) => text.replaceAll('\u0000', '').slice(0, max);

/**
 * The worker task that sends due webhook deliveries. Each run claims due rows
 * with FOR UPDATE SKIP LOCKED in a short transaction, counting the attempt and
 * leasing the row (next_attempt_at moves past the HTTP timeout), so replicas
 * never send the same attempt and a crash mid-send is retried once the lease
 * ends. Each attempt's outcome is written back fenced by its attempt number.
 */
@Injectable()
export class WebhookSenderService implements OnModuleInit {
  private readonly logger = new Logger('Webhooks');

  constructor(
    private readonly deliveries: WebhookDeliveryRepository,
    private readonly jobs: JobPipelineService,
    private readonly http: SafeHttpClient,
    private readonly config: AppConfig,
    private readonly registry: WorkerTaskRegistry,
    private readonly outage: DatabaseOutageMonitor,
    private readonly clients: ClientsService,
  ) {}

  /** Attempts being sent, each with the controller that aborts it when shutdown's grace is over. */
  private readonly inFlight = new Map<Promise<void>, AbortController>();

  onModuleInit(): void {
    this.registry.register({ name: WEBHOOK_TASK_NAME, run: async () => void (await this.deliverDue()) });
    // Deliveries are leased by next_attempt_at (past the HTTP timeout): nothing to renew, only to stop.
    this.registry.registerKeeper({
      name: WEBHOOK_TASK_NAME,
      held: () => 0,
      renew: () => Promise.resolve(),
      stop: (graceMs) => this.stop(graceMs),
    });
  }

  /** Sends every delivery that is due now; returns the number of attempts made. Claims nothing once shutdown began. */
  async deliverDue(): Promise<number> {
    const stopAt = Date.now() + RUN_BUDGET_MS;
    let attempts = 0;
    while (Date.now() < stopAt && !this.registry.stopping.aborted) {
      const claimed = await this.claim(CLAIM_BATCH);
      if (claimed.length === 0) break;
      if (this.registry.stopping.aborted) {
        // Shutdown began while these were being claimed: nothing was sent, hand them straight back.
        await Promise.all(claimed.map((delivery) => this.handBack(delivery, 0)));
        break;
      }
      // One failing delivery never stops the others: send() records its own failures.
      await Promise.all(claimed.map((delivery) => this.track(delivery)));
      attempts += claimed.length;
    }
    return attempts;
  }

  private track(delivery: ClaimedDelivery): Promise<void> {
    const controller = new AbortController();
    // Each attempt's lines carry its job and delivery; its span is the parent of nothing but times the send and records the outcome.
    const sending = withLogFields({ job_id: delivery.batchJobId, webhook_id: delivery.id }, () =>
      withSpan(
        'webhook.deliver',
        {
          job_id: delivery.batchJobId,
          'webhook.id': delivery.id,
          'webhook.event': delivery.event,
          'webhook.attempt': delivery.attempt,
          'server.address': hostOf(delivery.webhookUrl),
        },
        () => this.send(delivery, controller.signal),
      ),
    ).finally(() => this.inFlight.delete(sending));
    this.inFlight.set(sending, controller);
    return sending;
  }

  /**
   * Shutdown: attempts in flight get `graceMs` to get their answer; then they
   * are aborted and handed back due at once (the receiver may have the body
   * already: it de-duplicates on webhook-id), so another worker sends them.
   */
  private async stop(graceMs: number): Promise<void> {
    const settled = Promise.all([...this.inFlight.keys()]);
    let timer: NodeJS.Timeout | undefined;
    const expired = await Promise.race([
      settled.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
    ]);
    clearTimeout(timer);
    if (!expired) return;
    this.logger.warn(`shutdown grace of ${graceMs} ms over: handing back ${this.inFlight.size} webhook attempt(s) in flight`);
    for (const controller of this.inFlight.values()) controller.abort(new Error('shutdown grace period over'));
    await settled;
  }

  private claim(limit: number): Promise<ClaimedDelivery[]> {
    const leaseSeconds = (this.config.webhooks.timeoutMs + LEASE_MARGIN_MS) / 1000;
    return this.deliveries.claimDue(limit, leaseSeconds, this.config.instanceId);
  }

  private async send(delivery: ClaimedDelivery, signal: AbortSignal): Promise<void> {
    const started = Date.now();
    let result: AttemptResult;
    try {
      const { body, clientId } = await this.buildBody(delivery);
      const headers = webhookHeaders({
        webhookId: delivery.id,
        jobId: delivery.batchJobId,
        attempt: delivery.attempt,
        body,
        ...(await this.signingKeys(clientId)),
        timestamp: Math.floor(Date.now() / 1000),
      });
      const response = await this.http.request(delivery.webhookUrl, {
        method: 'POST',
        headers,
        body,
        timeoutMs: this.config.webhooks.timeoutMs,
        maxBytes: EXCERPT_BYTES,
        signal,
        propagateTrace: true, // the receiver may join the trace (image hosts never get it)
      });
      result = { response };
    } catch (error) {
      if (signal.aborted) {
        await this.handBack(delivery, Date.now() - started).catch((inner: unknown) =>
          this.logger.error(`webhook ${delivery.id} attempt ${delivery.attempt}: handing it back failed: ${String(inner)}`),
        );
        return;
      }
      result = { error };
    }
    const decision = decideAttempt(
      result,
      { attempt: delivery.attempt, maxAttempts: delivery.maxAttempts, roundStartAttempt: delivery.roundStartAttempt },
      { retryBaseMs: this.config.webhooks.retryBaseMs },
    );
    try {
      await this.record(delivery, result, decision, Date.now() - started);
    } catch (error) {
      // The lease expires and the attempt is made again (marked lost): never silently dropped.
      if (this.outage.absorb(error)) return;
      this.logger.error(`webhook ${delivery.id} attempt ${delivery.attempt}: recording the outcome failed: ${String(error)}`);
    }
  }

  /** An attempt aborted by shutdown: due again at once, not counted against the delivery's attempts. */
  private async handBack(delivery: ClaimedDelivery, durationMs: number): Promise<void> {
    await this.deliveries.handBack(delivery.id, delivery.attempt);
    this.logger.log(`webhook ${delivery.id} attempt ${delivery.attempt}: interrupted by shutdown after ${durationMs} ms; handed back`);
  }

  /** The body of this part, rebuilt from the job's lots (identical on every attempt while the job is unchanged). */
  /**
   * The job's client signs its webhooks (SPEC §4): its own `whsec_` keys; the
   * default client keeps SHARED_KEY's signatures (`X-Signature` and the
   * Standard Webhooks one every seed receiver knows) and adds its own keys'.
   */
  private async signingKeys(clientId: string): Promise<{ secrets: Buffer[]; legacyKey?: string }> {
    const secrets = await this.clients.webhookSecrets(clientId);
    if (clientId !== DEFAULT_CLIENT_ID) return { secrets };
    const sharedKey = this.config.auth.sharedKey;
    return { secrets: [sharedKeyWebhookSecret(sharedKey), ...secrets], legacyKey: sharedKey };
  }

  private async buildBody(delivery: WebhookDelivery): Promise<{ body: Buffer; clientId: string }> {
    const job = await this.jobs.findJob(delivery.batchJobId);
    if (!job) throw new Error(`job ${delivery.batchJobId} no longer exists`);
    const positions =
      delivery.lotPositionFrom !== null && delivery.lotPositionTo !== null
        ? { from: delivery.lotPositionFrom, to: delivery.lotPositionTo }
        : null;
    const lots = isTransitionEvent(delivery.event) ? [] : await this.jobs.lotsForWebhook(job.id, delivery.webhookUrl, positions);
    const body = serializePayload(job, delivery.event, lots, delivery.part, delivery.parts, await this.jobs.costOf(job.id));
    if (body.length > this.config.webhooks.maxBodyBytes && lots.length > 1) {
      this.logger.warn(
        `webhook ${delivery.id}: part ${delivery.part}/${delivery.parts} is ${body.length} bytes, over WEBHOOK_MAX_BODY_BYTES (lots changed since planning)`,
      );
    }
    return { body, clientId: job.clientId };
  }

  private async record(delivery: ClaimedDelivery, result: AttemptResult, decision: Decision, durationMs: number): Promise<void> {
    const response = 'response' in result ? result.response : undefined;
    const responseStatus = response?.status ?? null;
    const responseExcerpt = response ? storable(response.body.toString('utf8'), EXCERPT_BYTES) : null;
    const errorMessage = decision.outcome === 'delivered' ? null : storable(decision.reason, MAX_ERROR_CHARS);
    const recorded = await this.deliveries.recordAttempt(delivery.id, delivery.attempt, {
      status: decision.outcome === 'retry' ? 'pending' : decision.outcome,
      retryInSeconds: decision.outcome === 'retry' ? decision.delayMs / 1000 : null,
      delivered: decision.outcome === 'delivered',
      outcome: decision.outcome,
      durationMs,
      responseStatus,
      responseExcerpt,
      errorMessage,
    });
    if (!recorded) {
      this.logger.warn(
        `webhook ${delivery.id} attempt ${delivery.attempt}: lease lost before the outcome was recorded (${decision.outcome})`,
      );
    }
    annotateActiveSpan(
      { 'webhook.outcome': decision.outcome, 'http.response.status_code': responseStatus ?? undefined },
      decision.outcome === 'delivered' ? undefined : decision.reason,
    );
    const line =
      `webhook ${delivery.id} attempt ${delivery.attempt}/${delivery.maxAttempts} → ${decision.outcome}` +
      (decision.outcome === 'delivered' ? '' : `: ${decision.reason}`);
    if (decision.outcome === 'failed') this.logger.warn(line);
    else this.logger.log(line);
  }
}
