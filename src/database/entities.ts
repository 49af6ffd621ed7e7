import { ApiClientEntity } from '../auth/api-client.entity.js';
import { ApiClientKeyEntity } from '../auth/clients/api-client-key.entity.js';
import { SignatureNonceEntity } from '../auth/clients/signature-nonce.entity.js';
import { OpenAiBatch } from '../openai-batches/openai-batch.entity.js';
import { BatchJob } from '../jobs/entities/batch-job.entity.js';
import { BatchLot } from '../jobs/entities/batch-lot.entity.js';
import { WebhookDeliveryAttempt } from '../webhooks/webhook-delivery-attempt.entity.js';
import { WebhookDelivery } from '../webhooks/webhook-delivery.entity.js';
import { WorkerHeartbeat } from '../worker/worker-heartbeat.entity.js';

/** Every entity; each module still injects only the repositories of the tables it owns. */
export const ENTITIES = [
  ApiClientEntity,
  ApiClientKeyEntity,
  SignatureNonceEntity,
  BatchJob,
  BatchLot,
  OpenAiBatch,
  WebhookDelivery,
  WebhookDeliveryAttempt,
  WorkerHeartbeat,
];
