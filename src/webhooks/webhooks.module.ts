import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { HttpClientModule } from '../common/http/http-client.module.js';
import { BatchJob } from '../jobs/entities/batch-job.entity.js';
import { BatchLot } from '../jobs/entities/batch-lot.entity.js';
import { WebhookDeliveriesController } from './webhook-deliveries.controller.js';
import { WebhookDeliveryAttempt } from './webhook-delivery-attempt.entity.js';
import { WebhookDelivery } from './webhook-delivery.entity.js';
import { WebhookSenderService } from './webhook-sender.service.js';
import { WebhooksService } from './webhooks.service.js';

/**
 * Webhook deliveries: WebhooksService (enqueue, list, redeliver) for the
 * pipeline and the API, and the sender task, registered with the worker loop
 * (it runs only in processes whose role includes `worker`). Reads jobs and
 * lots, never writes them.
 */
@Module({
  imports: [TypeOrmModule.forFeature([WebhookDelivery, WebhookDeliveryAttempt, BatchJob, BatchLot]), HttpClientModule],
  providers: [WebhooksService, WebhookSenderService],
  exports: [WebhooksService],
})
export class WebhooksModule {}

/** The operator routes; imported by AppModule only when the process serves the API. */
@Module({
  imports: [WebhooksModule],
  controllers: [WebhookDeliveriesController],
})
export class WebhooksApiModule {}
