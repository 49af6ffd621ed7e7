import { Body, Controller, Post, Res, UseGuards } from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { HMAC_SECURITY, Signed } from '../../auth/signed.decorator.js';
import { ApiErrors, AUTH_ERRORS, ERROR_EXAMPLES } from '../dto/api-errors.js';
import { GenerateDescriptionsDto } from '../dto/generate-descriptions.dto.js';
import { AcceptedJobDto, SyncResultDto } from '../dto/job-responses.dto.js';
import { DryRunDto } from '../dto/dry-run.dto.js';
import { DryRunEstimator } from '../estimate/dry-run.estimator.js';
import { acceptedView } from '../job-views.js';
import { Idempotent } from '../idempotency/idempotent.decorator.js';
import { JobsService } from '../jobs.service.js';
import { ClientRateLimitGuard, GenerateRateLimit } from '../rate-limit/client-rate-limit.guard.js';
import { SyncGenerationService } from '../sync/sync-generation.service.js';
import { GenerationRequestPipe } from '../validation/generation-request.pipe.js';
import type { GenerationRequest } from '../validation/generation-request.js';
import { ClientId } from './client-id.decorator.js';
import { EXAMPLE_SAMPLES_BASE } from '../../samples/sample-photos.js';

const SYNC_EXAMPLE = {
  version: '1.0.0',
  languages: ['en', 'ru', 'de'],
  lots: [
    {
      lot_id: 'sync-12345',
      additional_info: '2021 BMW X5, front collision damage, airbags deployed',
      images: [{ url: `${EXAMPLE_SAMPLES_BASE}/car-1.png` }, { url: `${EXAMPLE_SAMPLES_BASE}/car-2.png` }],
    },
  ],
};
const BATCH_EXAMPLE = {
  version: '1.0.0',
  languages: ['en', 'fr', 'de'],
  lots: [
    {
      lot_id: 'batch-001',
      additional_info: '2019 Mercedes C-Class, minor rear damage',
      images: [{ url: `${EXAMPLE_SAMPLES_BASE}/car-2.png` }],
    },
    {
      lot_id: 'batch-002',
      additional_info: '2020 Audi A4, hail damage assessment',
      images: [{ url: `${EXAMPLE_SAMPLES_BASE}/car-3.png` }],
    },
  ],
};

@ApiTags('generation')
@ApiSecurity(HMAC_SECURITY)
@UseGuards(ClientRateLimitGuard)
@Controller('api/v1')
export class GenerateController {
  constructor(
    private readonly jobs: JobsService,
    private readonly sync: SyncGenerationService,
    private readonly estimator: DryRunEstimator,
  ) {}

  @Post('generate-descriptions')
  @Signed('lots')
  @GenerateRateLimit()
  @Idempotent()
  @ApiOperation({
    summary: 'Describe vehicle damage: 1 lot synchronously, 2 … 50,000 lots as a batch job',
    description:
      'Signature: HMAC-SHA256 over Python\'s `json.dumps(lots, separators=(",", ":"), sort_keys=True)`. ' +
      'One lot → `200` with the descriptions (hard deadline `SYNC_DEADLINE_SECONDS`, 300 s by default; the result is also stored as a job). ' +
      'More lots → `201` with a `job_id`: the job and all its lots are stored in one transaction and processed by the worker. ' +
      'A lot whose images are all unreachable, or that OpenAI refuses, is answered `200` with the lot `failed` and its `error`. ' +
      'Rate limits per client and minute: 100 synchronous, 10 batch creations.',
  })
  @ApiBody({
    type: GenerateDescriptionsDto,
    examples: {
      synchronous: { summary: 'One lot (synchronous), with the sample photos', value: SYNC_EXAMPLE },
      batch: { summary: 'Two lots (batch job), with the sample photos; add "webhook" to a lot to be notified', value: BATCH_EXAMPLE },
      dry_run: {
        summary: 'The same two lots, estimated only: requests, tokens and cost; nothing stored or sent',
        value: { ...BATCH_EXAMPLE, dry_run: true },
      },
    },
  })
  @ApiExtraModels(SyncResultDto, DryRunDto)
  @ApiOkResponse({
    description: 'Synchronous result (one lot), or the estimate of a `"dry_run": true` request',
    schema: { oneOf: [{ $ref: getSchemaPath(SyncResultDto) }, { $ref: getSchemaPath(DryRunDto) }] },
  })
  @ApiCreatedResponse({ type: AcceptedJobDto, description: 'Batch job accepted (2 or more lots)' })
  @ApiErrors(
    ERROR_EXAMPLES.invalidJson,
    ERROR_EXAMPLES.jsonTooDeep,
    ERROR_EXAMPLES.validation,
    ...AUTH_ERRORS,
    ERROR_EXAMPLES.duplicateLotId,
    ERROR_EXAMPLES.idempotencyKeyInFlight,
    ERROR_EXAMPLES.idempotencyKeyReused,
    ERROR_EXAMPLES.batchSize,
    ERROR_EXAMPLES.payloadTooLarge,
    ERROR_EXAMPLES.unsupportedMediaType,
    ERROR_EXAMPLES.invalidImageUrls,
    ERROR_EXAMPLES.invalidWebhook,
    ERROR_EXAMPLES.unsupportedLanguage,
    ERROR_EXAMPLES.tooManyLanguages,
    ERROR_EXAMPLES.tooManyImages,
    ERROR_EXAMPLES.openAiError,
    ERROR_EXAMPLES.openAiTimeout,
    ERROR_EXAMPLES.busy,
  )
  async generate(
    @ClientId() clientId: string,
    @Body(GenerationRequestPipe) request: GenerationRequest,
    @Res({ passthrough: true }) res: Response,
  ) {
    if (request.dryRun) {
      res.status(200);
      return this.estimator.estimate(request);
    }
    if (request.lots.length === 1) {
      const clientGone = new AbortController();
      res.once('close', () => {
        if (!res.writableFinished) clientGone.abort();
      });
      res.status(200);
      return this.sync.generate(clientId, request, clientGone.signal);
    }
    res.status(201);
    return acceptedView(await this.jobs.createJob(clientId, request));
  }
}
