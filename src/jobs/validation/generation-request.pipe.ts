import { Injectable, type PipeTransform } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { parseGenerationRequest, type GenerationRequest } from './generation-request.js';

/** Turns the raw generate body into a validated GenerationRequest (see parseGenerationRequest for the rules and their order). */
@Injectable()
export class GenerationRequestPipe implements PipeTransform<unknown, Promise<GenerationRequest>> {
  constructor(private readonly config: AppConfig) {}

  transform(body: unknown): Promise<GenerationRequest> {
    return parseGenerationRequest(body, this.config.limits);
  }
}
