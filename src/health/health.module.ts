import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller.js';
import { HealthService } from './health.service.js';
import { DatabaseHealthIndicator } from '../database/database-health.js';

@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json', logger: false })],
  controllers: [HealthController],
  providers: [HealthService, DatabaseHealthIndicator],
  exports: [HealthService],
})
export class HealthModule {}
