import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { classifyAddress, classifyHost, isIpLiteral } from './address-policy.js';
import { SsrfBlockedError } from './outbound-errors.js';

export interface NetworkPolicy {
  /** When false, only public unicast addresses may be contacted (SSRF protection). */
  allowPrivateNetworks: boolean;
}

/** Longest TCP/TLS connect before the attempt counts as a network failure. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * A DNS lookup that refuses the connection when any resolved address is not
 * public. It runs inside the socket's connect, on the very addresses the socket
 * then uses, so a name that resolves to a public address when checked and to a
 * private one when connecting (DNS rebinding) cannot slip through.
 */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  const refused = classifyHost(hostname);
  if (refused) {
    callback(new SsrfBlockedError(hostname, refused), '', 4);
    return;
  }
  dnsLookup(hostname, { ...options, all: true } as LookupAllOptions, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error, '', 4);
    // Refuse the whole name if any answer is private: mixed answers are a rebinding tell.
    for (const { address } of addresses) {
      const reason = classifyAddress(address);
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
  const connect = buildConnector({ timeout: CONNECT_TIMEOUT_MS, lookup: guardedLookup });
  return new Agent({
    keepAliveTimeout: 4_000,
    connect: (options, callback) => {
      const host = options.hostname;
      const refused = isIpLiteral(host) ? classifyAddress(host) : classifyHost(host);
      if (refused) {
        callback(new SsrfBlockedError(host, refused), null);
        return;
      }
      connect(options, callback);
    },
  });
}
