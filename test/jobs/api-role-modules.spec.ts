import { ModulesContainer } from '@nestjs/core';
import { BatchMonitorModule } from '../../src/batch-monitor/batch-monitor.module.js';
import { LotProcessingModule } from '../../src/lot-processing/lot-processing.module.js';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { APP_ROLE: 'api' } });
});
afterAll(() => t?.close());

test('the API role loads sync mode’s lot processing but not the batch pipeline', () => {
  const loaded = new Set([...t.app.get(ModulesContainer).values()].map((module) => module.metatype));
  expect(loaded.has(LotProcessingModule)).toBe(true);
  expect(loaded.has(BatchMonitorModule)).toBe(false);
});
