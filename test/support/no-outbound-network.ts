/**
 * Tests reach loopback only (the app, the OpenAI emulator, local webhook receivers, PostgreSQL): any TCP/TLS
 * connection to another address fails the test, even when the code under test catches the connection error.
 * Jest runs this file (setupFilesAfterEnv) before every test file. Every socket — fetch's built-in undici, the
 * undici package, node:http, pg — connects through net.Socket.prototype.connect, so that is where it looks;
 * host names are checked on the addresses they resolve to. The service's own SSRF policy refuses private and
 * public targets before any socket exists, so it never trips this guard.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import net from 'node:net';

type Connect = typeof net.Socket.prototype.connect;
type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
type Lookup = (hostname: string, options: object, callback: LookupCallback) => void;

/** Where a connection may go: 127.0.0.0/8, ::1, their IPv4-mapped forms. */
export function isLoopback(address: string): boolean {
  const ip = address.replace(/^\[|\]$/g, '').replace(/^::ffff:/i, '');
  if (net.isIPv4(ip)) return ip.startsWith('127.');
  return ip === '::1' || /^(0+:){7}0*1$/.test(ip);
}

const refusal = (target: string) =>
  Object.assign(new Error(`test network guard: outbound connection to ${target} refused — tests may only reach loopback addresses`), {
    code: 'ETESTNONLOOPBACK',
  });

// The original connect, kept across test files: node:net is shared by every test file of a Jest worker.
const ORIGINAL = Symbol.for('generation-service.test.original-socket-connect');
const proto = net.Socket.prototype as net.Socket & { [ORIGINAL]?: Connect };
// eslint-disable-next-line @typescript-eslint/unbound-method -- kept to be called with .apply(socket) below
const original: Connect = proto[ORIGINAL] ?? proto.connect;
proto[ORIGINAL] = original;

/** Non-loopback targets this test file tried to reach; checked (and emptied) after every test. */
const attempts: string[] = [];
(globalThis as { __outboundAttempts?: string[] }).__outboundAttempts = attempts;

function guardedLookup(userLookup: Lookup | undefined, port: unknown): Lookup {
  const lookup = userLookup ?? dnsLookup;
  return (hostname, options, callback) =>
    lookup(hostname, options, (error, address, family) => {
      if (error) return callback(error, address, family);
      const addresses = Array.isArray(address) ? address.map((entry) => entry.address) : [address];
      const outside = addresses.find((candidate) => !isLoopback(candidate));
      if (outside === undefined) return callback(null, address, family);
      const target = `${hostname} (${outside}):${String(port)}`;
      attempts.push(target);
      callback(refusal(target), address, family);
    });
}

/** Fails the way an unresolvable host does, so every client surfaces the refusal as its usual connection error. */
const refusingLookup =
  (target: string): Lookup =>
  (_hostname, _options, callback) =>
    callback(refusal(target), '', 4);

type ConnectOptions = { host?: string | null; port?: unknown; path?: string | null; lookup?: Lookup };

proto.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
  const [first, second] = args;
  let options: ConnectOptions | undefined;
  let callback: unknown;
  if (Array.isArray(first))
    [options, callback] = first as [ConnectOptions, unknown]; // Node's internal normalised form
  else if (typeof first === 'object' && first !== null) [options, callback] = [first, second];
  else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first)))
    [options, callback] = [
      { port: first, host: typeof second === 'string' ? second : undefined },
      args.find((arg) => typeof arg === 'function'),
    ];
  if (!options || options.path != null) return (original as (...rest: unknown[]) => net.Socket).apply(this, args); // IPC: local
  const host = (options.host ?? 'localhost').replace(/^\[|\]$/g, '');
  let guarded: ConnectOptions;
  if (net.isIP(host)) {
    if (isLoopback(host)) return (original as (...rest: unknown[]) => net.Socket).apply(this, args);
    const target = `${host}:${String(options.port)}`;
    attempts.push(target);
    guarded = { ...options, host: 'refused.test-network-guard.invalid', lookup: refusingLookup(target) };
  } else if (host === 'localhost') {
    return (original as (...rest: unknown[]) => net.Socket).apply(this, args);
  } else {
    guarded = { ...options, lookup: guardedLookup(options.lookup, options.port) };
  }
  return (original as (...rest: unknown[]) => net.Socket).call(this, guarded, callback);
};

/** Throws (and forgets them) if connections outside loopback were attempted since the last check. */
export function checkNoOutboundAttempts(): void {
  if (attempts.length === 0) return;
  const tried = attempts.splice(0);
  throw new Error(`this test tried to connect outside loopback: ${tried.join(', ')} (use the emulator or a loopback server)`);
}

afterEach(checkNoOutboundAttempts);
