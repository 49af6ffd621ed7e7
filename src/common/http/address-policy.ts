import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Why an address or host name may not be contacted; `null` when it may. */
export type BlockReason = string | null;

/**
 * Host names of cloud metadata services, refused before DNS so the reason is
 * clear and no resolver is asked. Everything else — `localhost` included — is
 * judged by the addresses it resolves to, at connect time.
 */
const BLOCKED_HOST_NAMES = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'metadata.azure.internal',
  'instance-data',
  'instance-data.ec2.internal',
]);
/** RFC 6761: `*.localhost` is loopback by definition (resolvers may not know it); `.internal` is private-use. */
const BLOCKED_HOST_SUFFIXES = ['.localhost', '.internal'];

/** ipaddr.js range names → the words used in refusal messages. Anything but `unicast` is refused. */
const RANGE_WORDS: Record<string, string> = {
  unspecified: 'unspecified address',
  broadcast: 'broadcast address',
  multicast: 'multicast address',
  linkLocal: 'link-local address (incl. cloud metadata 169.254.169.254)',
  loopback: 'loopback address',
  carrierGradeNat: 'carrier-grade NAT address (100.64.0.0/10)',
  private: 'private network address (RFC 1918)',
  uniqueLocal: 'unique-local IPv6 address (fc00::/7)',
  reserved: 'reserved or documentation address',
  benchmarking: 'benchmarking address',
};

/** ::/96 — deprecated IPv4-compatible IPv6 (`::127.0.0.1`); ipaddr.js calls it unicast. */
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');
/** 64:ff9b::/96 — the well-known NAT64 prefix: the last 32 bits are the IPv4 host actually reached. */
const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96');
/** 2002::/16 — 6to4: bits 16..47 are the IPv4 gateway actually reached. */
const SIX_TO_FOUR = ipaddr.parseCIDR('2002::/16');

function ipv4FromParts(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

function classifyParsed(address: ipaddr.IPv4 | ipaddr.IPv6): BlockReason {
  if (address.kind() === 'ipv6') {
    const v6 = address as ipaddr.IPv6;
    // Addresses that embed an IPv4 destination are judged by that destination.
    if (v6.isIPv4MappedAddress()) return classifyParsed(v6.toIPv4Address());
    if (v6.match(NAT64_WELL_KNOWN)) return classifyParsed(ipv4FromParts(v6.parts[6], v6.parts[7]));
    if (v6.match(SIX_TO_FOUR)) return classifyParsed(ipv4FromParts(v6.parts[1], v6.parts[2]));
  }
  const range = address.range();
  if (address.kind() === 'ipv6' && range === 'unicast' && (address as ipaddr.IPv6).match(IPV4_COMPATIBLE)) {
    const v6 = address as ipaddr.IPv6;
    return classifyParsed(ipv4FromParts(v6.parts[6], v6.parts[7])) ?? 'IPv4-compatible IPv6 address (::/96, deprecated)';
  }
  if (range === 'unicast') return null;
  return RANGE_WORDS[range] ?? `special-purpose address range "${range}"`;
}

/**
 * The WHATWG serialisation of an IPv6 literal (hex groups only, zone dropped).
 * ipaddr.js reads `::a.b.c.d` as if it were `::ffff:a.b.c.d`; the canonical
 * form has no dotted part, so it is parsed for what it is.
 */
function canonicalIpv6(ip: string): string {
  const withoutZone = ip.split('%')[0];
  return new URL(`http://[${withoutZone}]/`).hostname.slice(1, -1);
}

/**
 * Why `ip` (a literal IPv4 or IPv6 address, as DNS or a URL gives it) must not
 * be contacted, or `null` for a public unicast address. Allow-list logic: any
 * range ipaddr.js knows as special (loopback, private, link-local, CGNAT,
 * unique-local, multicast, reserved, Teredo, ...) is refused.
 */
export function classifyAddress(ip: string): BlockReason {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  // net.isIP is strict (dotted-quad IPv4 only); URL parsing has already turned
  // decimal/hex/octal tricks into dotted quads, and DNS answers are canonical.
  if (isIP(bare) === 0) return `"${ip}" is not an IP address`;
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(isIP(bare) === 6 ? canonicalIpv6(bare) : bare);
  } catch {
    return `"${ip}" is not an IP address`;
  }
  return classifyParsed(parsed);
}

/** Why the host name itself (before DNS) is refused, or `null`. IP literals are classified by address. */
export function classifyHost(host: string): BlockReason {
  const name = host.toLowerCase().replace(/\.$/, '');
  const bare = name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
  if (isIP(bare) !== 0) return classifyAddress(bare);
  if (name === '') return 'empty host name';
  if (BLOCKED_HOST_NAMES.has(name) || BLOCKED_HOST_SUFFIXES.some((suffix) => name.endsWith(suffix))) {
    return `host name "${name}" is reserved for local or cloud-metadata services`;
  }
  return null;
}

/** True when `host` (name or literal, brackets allowed) is an IP literal. */
export function isIpLiteral(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return isIP(bare) !== 0;
}

/**
 * True when `ip` is a loopback address (127.0.0.0/8, ::1, or an IPv6 form
 * embedding an IPv4 loopback) — what a policy with `allowLoopback` still lets through.
 */
export function isLoopbackAddress(ip: string): boolean {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  if (isIP(bare) === 0) return false;
  try {
    let parsed = ipaddr.parse(isIP(bare) === 6 ? canonicalIpv6(bare) : bare);
    if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
    return parsed.range() === 'loopback';
  } catch {
    return false;
  }
}
