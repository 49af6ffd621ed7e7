/**
 * The test network guard (test/support/no-outbound-network.ts): tests are specifications of the service's own
 * behaviour, so nothing may depend on (or leak to) the internet. These tests trip the guard on purpose and then
 * take the recorded attempts back, so the afterEach check does not fail them.
 */
import { request } from 'node:http';
import net from 'node:net';
import { checkNoOutboundAttempts, isLoopback } from '../support/no-outbound-network.js';
import { startLoopbackServer } from '../common/loopback-server.js';

const attempts = () => (globalThis as { __outboundAttempts?: string[] }).__outboundAttempts!;
const takeAttempts = () => attempts().splice(0);

afterEach(() => takeAttempts());

test('a fetch to a non-loopback address fails at once with a message naming the guard and the target', async () => {
  const started = Date.now();
  const failure = await fetch('http://203.0.113.1/v1/models').then(
    () => undefined,
    (error: Error & { cause?: Error & { code?: string } }) => error,
  );
  expect(failure?.cause?.code).toBe('ETESTNONLOOPBACK');
  expect(failure?.cause?.message).toBe(
    'test network guard: outbound connection to 203.0.113.1:80 refused — tests may only reach loopback addresses',
  );
  expect(Date.now() - started).toBeLessThan(2_000);
  expect(takeAttempts()).toEqual(['203.0.113.1:80']);
});

test('node:http and raw sockets are refused the same way, IPv6 included', async () => {
  const viaHttp = await new Promise<Error>((resolve) => request('http://203.0.113.7:8080/', { agent: false }).on('error', resolve).end());
  expect(viaHttp.message).toMatch(/outbound connection to 203\.0\.113\.7:8080 refused/);
  const viaSocket = await new Promise<Error>((resolve) => net.connect({ host: '2001:db8::1', port: 443 }).on('error', resolve));
  expect(viaSocket.message).toMatch(/outbound connection to 2001:db8::1:443 refused/);
  expect(takeAttempts()).toEqual(['203.0.113.7:8080', '2001:db8::1:443']);
});

test('a host name is judged by the address it resolves to', async () => {
  const lookup = (_host: string, _options: object, callback: (error: null, address: string, family: number) => void) =>
    callback(null, '198.51.100.20', 4);
  const failure = await new Promise<Error>((resolve) => net.connect({ host: 'api.example.test', port: 443, lookup }).on('error', resolve));
  expect(failure.message).toMatch(/outbound connection to api\.example\.test \(198\.51\.100\.20\):443 refused/);
  expect(takeAttempts()).toEqual(['api.example.test (198.51.100.20):443']);
});

test('loopback stays open: a loopback server answers, by address and by name', async () => {
  const server = await startLoopbackServer((_req, res) => res.end('ok'));
  try {
    expect(await (await fetch(`http://127.0.0.1:${server.port}/`)).text()).toBe('ok');
    expect(await (await fetch(`http://localhost:${server.port}/`)).text()).toBe('ok');
    expect(attempts()).toEqual([]);
  } finally {
    await server.close();
  }
});

test('an attempt the code under test swallows still fails the test (the afterEach check)', async () => {
  await fetch('http://192.0.2.10:8080/').catch(() => undefined);
  expect(checkNoOutboundAttempts).toThrow(
    'this test tried to connect outside loopback: 192.0.2.10:8080 (use the emulator or a loopback server)',
  );
  expect(checkNoOutboundAttempts).not.toThrow();
});

test('isLoopback: 127.0.0.0/8 and ::1 (also IPv4-mapped) only', () => {
  for (const address of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1'])
    expect(isLoopback(address)).toBe(true);
  for (const address of ['10.0.0.1', '192.168.1.1', '203.0.113.1', '0.0.0.0', '::', '::ffff:10.0.0.1', '2001:db8::1', '169.254.169.254'])
    expect(isLoopback(address)).toBe(false);
});
