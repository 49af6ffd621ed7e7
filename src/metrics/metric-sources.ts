import { Injectable } from '@nestjs/common';
import { OpenAiBatchesService } from '../openai-batches/openai-batches.service.js';
import { JobPipelineService } from '../jobs/job-pipeline.service.js';
import { WebhooksService } from '../webhooks/webhooks.service.js';
import { WorkerHeartbeatService } from '../worker/worker-heartbeat.service.js';

/** The owners of the tables whose state /metrics reports; each counts its own rows. */
@Injectable()
export class MetricSources {
  constructor(
    readonly jobs: JobPipelineService,
    readonly batches: OpenAiBatchesService,
    readonly webhooks: WebhooksService,
    readonly heartbeats: WorkerHeartbeatService,
  ) {}
}
