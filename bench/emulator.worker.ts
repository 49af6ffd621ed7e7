/**
 * The outside world of step (2) in a thread of its own: the OpenAI emulator (instant batches) and the image host
 * that both the service's image checks and the emulator's downloads reach. Their work then does not run on the
 * service's event loop, and the thread's event-loop utilisation is theirs alone. Answers `{ emulatorUrl, imageBase }`
 * once listening; on any message, closes both and answers `closed`.
 */
import { parentPort } from 'node:worker_threads';
import { startEmulator } from '../src/emulator/emulator.js';
import { startImageServer } from './image-server.js';

export interface OutsideWorld {
  emulatorUrl: string;
  imageBase: string;
}

const emulator = await startEmulator({ port: 0, batchDurationMs: 0 });
const images = await startImageServer();
parentPort!.once('message', () => {
  void Promise.all([emulator.close(), images.close()]).then(() => parentPort!.postMessage('closed'));
});
parentPort!.postMessage({ emulatorUrl: emulator.url, imageBase: images.base } satisfies OutsideWorld);
