import { startEmulator } from './emulator.js';

/** `npm run emulator`: a standalone OpenAI emulator for manual runs and out-of-process tests. */
async function main(): Promise<void> {
  const port = Number(process.env.EMULATOR_PORT ?? 5050);
  const batchDurationMs = Number(process.env.EMULATOR_BATCH_DURATION_MS ?? 5000);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`EMULATOR_PORT must be a port number, got '${process.env.EMULATOR_PORT}'`);
  if (!Number.isFinite(batchDurationMs) || batchDurationMs < 0) {
    throw new Error(`EMULATOR_BATCH_DURATION_MS must be a number of milliseconds, got '${process.env.EMULATOR_BATCH_DURATION_MS}'`);
  }
  const emulator = await startEmulator({
    port,
    host: process.env.EMULATOR_HOST ?? '127.0.0.1',
    batchDurationMs,
    apiKey: process.env.EMULATOR_API_KEY || undefined,
    // Loopback image hosts are reachable (local testing); private networks only when asked for.
    imageNetwork: { allowPrivateNetworks: process.env.EMULATOR_ALLOW_PRIVATE_NETWORKS === 'true', allowLoopback: true },
    log: process.env.EMULATOR_QUIET ? undefined : (line) => console.log(line),
  });
  console.log(`OpenAI emulator listening at ${emulator.url} (batch duration ${batchDurationMs} ms)`);
  console.log(`Use: OPENAI_BASE_URL=${emulator.url} OPENAI_API_KEY=${process.env.EMULATOR_API_KEY || '<any non-empty key>'}`);

  const stop = (signal: string) => {
    console.log(`${signal} received, stopping the emulator`);
    emulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
