import { InitialSchema1763790000000 } from './1763790000000-initial-schema.js';
import { PipelineClaims1763790100000 } from './1763790100000-pipeline-claims.js';
import { WebhookDeliveryPlan1763790200000 } from './1763790200000-webhook-delivery-plan.js';
import { LotBudgetRetries1763790300000 } from './1763790300000-lot-budget-retries.js';
import { OpenAiRequestBudget1763790400000 } from './1763790400000-openai-request-budget.js';
import { ApiClientKeys1763790500000 } from './1763790500000-api-client-keys.js';
import { ClientRateLimitsAndIdempotency1763790600000 } from './1763790600000-client-rate-limits-and-idempotency.js';
import { JobTraceContext1763790700000 } from './1763790700000-job-trace-context.js';
import { JobControl1763790800000 } from './1763790800000-job-control.js';
import { UsageAndCost1763790900000 } from './1763790900000-usage-and-cost.js';
import { UsageTotals1763791000000 } from './1763791000000-usage-totals.js';
import { JobStatusNotifications1763791100000 } from './1763791100000-job-status-notifications.js';

/** Every migration, oldest first. Listed explicitly so the same code runs from `src`, `dist` and Jest. */
export const MIGRATIONS = [
  InitialSchema1763790000000,
  PipelineClaims1763790100000,
  WebhookDeliveryPlan1763790200000,
  LotBudgetRetries1763790300000,
  OpenAiRequestBudget1763790400000,
  ApiClientKeys1763790500000,
  ClientRateLimitsAndIdempotency1763790600000,
  JobTraceContext1763790700000,
  JobControl1763790800000,
  UsageAndCost1763790900000,
  UsageTotals1763791000000,
  JobStatusNotifications1763791100000,
];
