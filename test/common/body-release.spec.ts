import { Body, Controller, Module, Post, Req } from '@nestjs/common';
import type { Request } from 'express';
import { Agent, request, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';
import { Public } from '../../src/auth/signed.decorator.js';
import type { ParsedBodyRequest } from '../../src/common/body/json-body.middleware.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';

/** The last request the probe saw, kept past its answer, as a keep-alive socket keeps it. */
let seen: ParsedBodyRequest | undefined;

@Public()
@Controller('probe-release')
class ReleaseProbeController {
  @Post() take(@Req() req: Request, @Body() body: { items: unknown[] }) {
    seen = req as ParsedBodyRequest;
    return { items: body.items.length };
  }
}
@Module({ controllers: [ReleaseProbeController] })
class ReleaseProbeModule {}

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ extraModules: [ReleaseProbeModule] });
});
afterAll(() => t.close());

test('once answered, a request lets go of its body even while its keep-alive socket keeps the request object', async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  // Over 1 MB: read into shared memory and parsed by the worker pool, the path of a large batch.
  const text = JSON.stringify({ items: Array.from({ length: 40_000 }, (_, i) => ({ id: i, note: 'x'.repeat(20) })) });
  try {
    const answer = await new Promise<string>((resolve, reject) => {
      const req = request(`${t.url}/probe-release`, { method: 'POST', agent, headers: { 'Content-Type': 'application/json' } }, (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (data += chunk));
        res.on('end', () => resolve(data));
      });
      req.on('error', reject);
      req.end(text);
    });
    expect(JSON.parse(answer)).toEqual({ items: 40_000 });
    const request_ = seen!;
    await waitFor(async () => request_.rawBody === undefined, { what: 'the raw body to be released' });
    expect([request_.body, request_.signedBody]).toEqual([undefined, undefined]);
    // The body reader's own listeners are gone (they held its promise, hence the bytes); a late error is harmless.
    expect(request_.listeners('error')).toHaveLength(1);
    expect(() => request_.emit('error', new Error('late socket error'))).not.toThrow();
  } finally {
    agent.destroy();
  }
});

test('an upload the client abandons half-way is its failure: no server error logged, the process serves on', async () => {
  const lines: string[] = [];
  const record = (level: string) => (message: unknown) =>
    void lines.push(`${level} ${typeof message === 'string' ? message : JSON.stringify(message)}`);
  const own = await startTestApp({
    extraModules: [ReleaseProbeModule],
    logger: { log: record('log'), warn: record('warn'), error: record('error'), debug: record('debug'), verbose: record('verbose') },
  });
  try {
    const { port } = new URL(own.url);
    // Over 1 MB declared, half sent: the body reader is mid-way when the connection goes.
    const halfRead = new Promise<void>((resolve) =>
      (own.app.getHttpServer() as Server).once('request', (req: IncomingMessage) => {
        let received = 0;
        req.on('data', (chunk: Buffer) => (received += chunk.length) >= 1_000_000 && resolve());
      }),
    );
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write(`POST /probe-release HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n`);
    socket.write('{"items":[' + '1,'.repeat(500_000));
    await halfRead;
    socket.destroy();
    await waitFor(async () => lines.some((line) => /POST \/probe-release (aborted|400)/.test(line)), { what: 'the request to end' });
    expect(lines.filter((line) => line.startsWith('error '))).toEqual([]);
    expect((await own.fetch('/health/live')).status).toBe(200);
  } finally {
    await own.close();
  }
});
