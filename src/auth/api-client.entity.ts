import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import type { RateLimitOverrides } from './api-client.js';

/** An API client. `default` is the holder of SHARED_KEY; every job belongs to one client. */
@Entity('api_clients')
export class ApiClientEntity {
  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ type: 'text' })
  name: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  /** Whether the seed's `X-Signature` with SHARED_KEY authenticates as this client (only `default` by default). */
  @Column({ name: 'legacy_scheme', type: 'boolean', default: false })
  legacyScheme: boolean;

  /** Per-client overrides of the rate-limit budgets; `{}` = the configured defaults. */
  @Column({ name: 'rate_limits', type: 'jsonb', default: () => `'{}'::jsonb` })
  rateLimits: RateLimitOverrides;
}
