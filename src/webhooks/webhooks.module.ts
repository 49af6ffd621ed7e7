import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ClientsModule } from '../auth/clients/clients.module.js';
import { HttpClientModule } from '../common/http/http-client.module.js';
import { JobCancellationHook } from '../jobs/job-cancellation.hook.js';
import { JobDataModule } from '../jobs/job-data.module.js';
import { WebhookDeliveriesController } from './webhook-deliveries.controller.js';
import { WebhookDeliveryAttempt } from './webhook-delivery-attempt.entity.js';
import { WebhookDelivery } from './webhook-delivery.entity.js';
import { WebhookDeliveryRepository } from './webhook-delivery.repository.js';
import { WebhookSenderService } from './webhook-sender.service.js';
import { WebhooksService } from './webhooks.service.js';

/**
 * Webhook deliveries: WebhooksService (enqueue, list, redeliver) for the
 * pipeline and the API, and the sender task, registered with the worker loop
 * (it runs only in processes whose role includes `worker`). Reads jobs and
 * lots through the jobs module, never writes them; signs with the job's
 * client's webhook secrets from the auth module's ClientsService.
 */
@Module({
  imports: [TypeOrmModule.forFeature([WebhookDelivery, WebhookDeliveryAttempt]), JobDataModule, HttpClientModule, ClientsModule],
  providers: [
    WebhookDeliveryRepository,
    WebhooksService,
    WebhookSenderService,
    // A cancelled job's webhooks commit with the cancellation (see JobsModule.register).
    {
      provide: JobCancellationHook,
      useFactory: (webhooks: WebhooksService): JobCancellationHook => ({
        onCancelled: (jobId, tx) => webhooks.enqueueForJob(jobId, tx),
        onTransition: (jobId, event, tx) => webhooks.enqueueEvent(jobId, event, tx),
      }),
      inject: [WebhooksService],
    },
  ],
  exports: [WebhooksService, JobCancellationHook],
})
export class WebhooksModule {}

/** The operator routes; imported by AppModule only when the process serves the API. */
@Module({
  imports: [WebhooksModule],
  controllers: [WebhookDeliveriesController],
})
export class WebhooksApiModule {}
