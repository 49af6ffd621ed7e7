import { Module } from '@nestjs/common';
import { OpenAiGateway } from './openai-gateway.service.js';

/**
 * The OpenAI gateway: one instance per process, so the rate limiter and its
 * counters are shared by every caller (sync mode, fallbacks, batch monitor).
 * AppConfig comes from the global ConfigModule. OPENAI_MAX_RPM is counted
 * in PostgreSQL for the whole deployment (RequestBudgetModule, imported by AppModule).
 */
@Module({ providers: [OpenAiGateway], exports: [OpenAiGateway] })
export class OpenAiGatewayModule {}
