import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { classifyAddress, classifyHost, isIpLiteral, isLoopbackAddress, type BlockReason } from './address-policy.js';
import { SsrfBlockedError } from './outbound-errors.js';

export interface NetworkPolicy {
  /** When false, only public unicast addresses may be contacted (SSRF protection). */
  allowPrivateNetworks: boolean;
  /**
   * With private networks refused, loopback may still be allowed (the OpenAI
   * emulator's image downloads from test image hosts on 127.0.0.1); private,
   * link-local and metadata addresses stay refused.
   */
  allowLoopback?: boolean;
}

/** Why `address` (an IP literal) is refused under `policy`, or null. */
export function refusalFor(address: string, reason: BlockReason, policy: NetworkPolicy): BlockReason {
  return reason && !(policy.allowLoopback && isLoopbackAddress(address)) ? reason : null;
}

/** Longest TCP/TLS connect before the attempt counts as a network failure. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * A DNS lookup that refuses the connection when any resolved address is not
 * public. It runs inside the socket's connect, on the very addresses the socket
 * then uses, so a name that resolves to a public address when checked and to a
 * private one when connecting (DNS rebinding) cannot slip through.
 */
export const guardedLookup: LookupFunction = guardedLookupFor({ allowPrivateNetworks: false });

/** guardedLookup for a policy (loopback allowed or not). */
export function guardedLookupFor(policy: NetworkPolicy): LookupFunction {
  return (hostname, options, callback) => {
    const refused = refusalFor(hostname, classifyHost(hostname), policy);
    if (refused) {
      callback(new SsrfBlockedError(hostname, refused), '', 4);
      return;
    }
    dnsLookup(hostname, { ...options, all: true } as LookupAllOptions, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 4);
      // Refuse the whole name if any answer is private: mixed answers are a rebinding tell.
      for (const { address } of addresses) {
        const reason = refusalFor(address, classifyAddress(address), policy);
        if (reason) return callback(new SsrfBlockedError(hostname, reason, address), '', 4);
      }
      if (addresses.length === 0) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 4);
      // net.connect asks for every address when it races IPv4/IPv6 (autoSelectFamily), else for one.
      if ((options as { all?: boolean }).all) {
        (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, addresses);
      } else {
        callback(null, addresses[0].address, addresses[0].family);
      }
    });
  };
}

/**
 * An undici dispatcher for untrusted URLs. With private networks disallowed,
 * its connector refuses IP-literal hosts that are not public (literals skip DNS,
 * so the lookup alone would miss them) and resolves names through
 * `guardedLookup`. Redirects are never followed: undici's dispatcher does not
 * follow them unless a redirect interceptor is added, and none is.
 */
export function createSafeDispatcher(policy: NetworkPolicy): Dispatcher {
  if (policy.allowPrivateNetworks) {
    return new Agent({ connect: { timeout: CONNECT_TIMEOUT_MS }, keepAliveTimeout: 4_000 });
  }
  const connect = buildConnector({ timeout: CONNECT_TIMEOUT_MS, lookup: guardedLookupFor(policy) });
  return new Agent({
    keepAliveTimeout: 4_000,
    connect: (options, callback) => {
      const host = options.hostname;
      const refused = refusalFor(host, isIpLiteral(host) ? classifyAddress(host) : classifyHost(host), policy);
      if (refused) {
        callback(new SsrfBlockedError(host, refused), null);
        return;
      }
      connect(options, callback);
    },
  });
}
