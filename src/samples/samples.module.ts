import { Module } from '@nestjs/common';
import { SamplesController } from './samples.controller.js';

/** Sample car photos at /samples/* (offline mode, or SERVE_SAMPLES=true). */
@Module({ controllers: [SamplesController] })
export class SamplesModule {}
