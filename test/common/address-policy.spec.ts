import { classifyAddress, classifyHost } from '../../src/common/http/address-policy.js';
import { OutboundHttpError, SsrfBlockedError } from '../../src/common/http/outbound-errors.js';
import { checkOutboundUrl } from '../../src/common/http/safe-request.js';

/** What `call` throws (undefined when it returns). */
function errorOf(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  return undefined;
}

const DENY = { allowPrivateNetworks: false };
const ALLOW = { allowPrivateNetworks: true };

// [address, words the refusal must contain]
const BLOCKED_ADDRESSES: [string, string][] = [
  ['10.0.0.1', 'private'],
  ['10.255.255.255', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.254', 'private'],
  ['192.168.1.1', 'private'],
  ['127.0.0.1', 'loopback'],
  ['127.1.2.3', 'loopback'],
  ['169.254.169.254', 'link-local'],
  ['169.254.0.1', 'link-local'],
  ['100.64.0.1', 'carrier-grade NAT'],
  ['100.127.255.254', 'carrier-grade NAT'],
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['255.255.255.255', 'broadcast'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['240.0.0.1', 'reserved'],
  ['192.0.2.1', 'reserved'],
  ['198.51.100.7', 'reserved'],
  ['203.0.113.5', 'reserved'],
  ['198.18.0.1', 'reserved'],
  ['192.0.0.8', 'reserved'],
  ['::1', 'loopback'],
  ['::', 'unspecified'],
  ['fe80::1', 'link-local'],
  ['febf:ffff::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['fc00::1', 'unique-local'],
  ['fd12:3456:789a::1', 'unique-local'],
  ['ff02::1', 'multicast'],
  ['2001:db8::1', 'reserved'],
  // IPv4-mapped IPv6 is judged by the IPv4 address it maps.
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['::ffff:10.0.0.1', 'private'],
  ['::ffff:169.254.169.254', 'link-local'],
  ['[::ffff:192.168.0.1]', 'private'],
  // Other IPv6 forms that reach an embedded IPv4 destination.
  ['64:ff9b::7f00:1', 'loopback'],
  ['64:ff9b::a9fe:a9fe', 'link-local'],
  ['2002:7f00:1::1', 'loopback'],
  ['2002:a00:1::1', 'private'],
  ['::127.0.0.1', 'loopback'],
  ['::10.0.0.1', 'private'],
  ['::8.8.8.8', 'IPv4-compatible'],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'special-purpose'], // Teredo
];

const PUBLIC_ADDRESSES = [
  '8.8.8.8',
  '1.1.1.1',
  '93.184.216.34',
  '11.0.0.1',
  '172.15.255.255',
  '172.32.0.1',
  '192.167.255.255',
  '192.169.0.1',
  '100.63.255.255',
  '100.128.0.1',
  '169.253.255.255',
  '169.255.0.1',
  '126.255.255.255',
  '128.0.0.1',
  '223.255.255.254',
  '2606:4700:4700::1111',
  '2001:4860:4860::8888',
  '::ffff:8.8.8.8',
  '64:ff9b::808:808',
  '2002:808:808::1',
];

describe('classifyAddress', () => {
  test.each(BLOCKED_ADDRESSES)('%s is refused (%s)', (address, words) => {
    expect(classifyAddress(address)).toContain(words);
  });

  test.each(PUBLIC_ADDRESSES)('%s is public', (address) => {
    expect(classifyAddress(address)).toBeNull();
  });

  test.each(['example.com', '2130706433', '0x7f.1', '127.1', '1.2.3', ''])(
    '"%s" is not an address literal (URL parsing normalises those)',
    (text) => {
      expect(classifyAddress(text)).toContain('not an IP address');
    },
  );
});

describe('classifyHost', () => {
  test.each([
    ['metadata.google.internal', 'cloud-metadata'],
    ['METADATA.GOOGLE.INTERNAL.', 'cloud-metadata'],
    ['metadata', 'cloud-metadata'],
    ['instance-data', 'cloud-metadata'],
    ['anything.internal', 'cloud-metadata'],
    ['app.localhost', 'cloud-metadata'],
    ['127.0.0.1', 'loopback'],
    ['[::1]', 'loopback'],
    ['', 'empty'],
  ])('%s is refused before DNS', (host, words) => {
    expect(classifyHost(host)).toContain(words);
  });

  test.each(['example.com', 'hooks.example.org', 'localhost', 'internal.example.com'])(
    '%s is left to the resolved-address check',
    (host) => {
      expect(classifyHost(host)).toBeNull();
    },
  );
});

describe('checkOutboundUrl with private networks refused', () => {
  // The WHATWG URL parser turns every IPv4 spelling into a dotted quad first.
  test.each([
    ['http://2130706433/', 'loopback'],
    ['http://0x7f.1/', 'loopback'],
    ['http://0x7f000001/', 'loopback'],
    ['http://0177.0.0.1/', 'loopback'],
    ['http://017700000001/', 'loopback'],
    ['http://127.1/', 'loopback'],
    ['http://0/', 'unspecified'],
    ['http://[::1]:8080/hook', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://[0:0:0:0:0:ffff:7f00:1]/', 'loopback'],
    ['http://[fe80::1]/', 'link-local'],
    ['http://169.254.169.254/latest/meta-data/', 'link-local'],
    ['http://0xa9.0xfe.0xa9.0xfe/', 'link-local'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'cloud-metadata'],
    ['https://10.1.2.3:8443/x', 'private'],
    ['http://100.100.100.200/', 'carrier-grade NAT'],
    ['http://[fd00::1]/', 'unique-local'],
  ])('%s → SsrfBlockedError (%s)', (url, words) => {
    const thrown = errorOf(() => checkOutboundUrl(url, DENY));
    expect(thrown).toBeInstanceOf(SsrfBlockedError);
    const blocked = thrown as SsrfBlockedError;
    expect(blocked.reason).toContain(words);
    expect(blocked.permanent).toBe(true);
    expect(blocked.message).toContain('ALLOW_PRIVATE_NETWORKS');
  });

  test.each(['ftp://example.com/x', 'file:///etc/passwd', 'javascript:alert(1)', 'gopher://example.com/', 'not a url', '//example.com/x'])(
    '%s is refused as an invalid URL (http and https only)',
    (url) => {
      const thrown = errorOf(() => checkOutboundUrl(url, ALLOW));
      expect(thrown).toBeInstanceOf(OutboundHttpError);
      expect((thrown as OutboundHttpError).kind).toBe('invalid_url');
      expect((thrown as OutboundHttpError).permanent).toBe(true);
    },
  );

  test('public URLs pass, and private ones pass when allowed', () => {
    expect(checkOutboundUrl('https://hooks.example.com/a?b=1', DENY).hostname).toBe('hooks.example.com');
    expect(checkOutboundUrl('http://8.8.8.8/', DENY).hostname).toBe('8.8.8.8');
    expect(checkOutboundUrl('http://127.0.0.1:9/', ALLOW).port).toBe('9');
  });
});
