import { BlockList, isIP } from 'node:net';
import { DomainError } from '@meterflow/kernel';

/**
 * Which webhook URLs the gateway may call (SSRF). The endpoint URL is the operator's, so loopback
 * and private ranges are allowed by default (an on-prem receiver); link-local addresses, where
 * cloud metadata services live, never are. `allowPrivate: false` refuses loopback and private
 * ranges too. Checked on the URL when an endpoint is saved, and on every resolved address when a
 * delivery connects (a name may resolve elsewhere later).
 */
export interface UrlPolicy {
  allowPrivate: boolean;
}

const ALWAYS_REFUSED = new BlockList();
ALWAYS_REFUSED.addSubnet('0.0.0.0', 8, 'ipv4'); // "this network"
ALWAYS_REFUSED.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local, incl. 169.254.169.254 metadata
ALWAYS_REFUSED.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud metadata
ALWAYS_REFUSED.addSubnet('224.0.0.0', 4, 'ipv4'); // multicast
ALWAYS_REFUSED.addSubnet('240.0.0.0', 4, 'ipv4'); // reserved, broadcast
ALWAYS_REFUSED.addAddress('::', 'ipv6');
ALWAYS_REFUSED.addSubnet('fe80::', 10, 'ipv6'); // link-local
ALWAYS_REFUSED.addAddress('fd00:ec2::254', 'ipv6'); // AWS metadata over IPv6
ALWAYS_REFUSED.addSubnet('ff00::', 8, 'ipv6'); // multicast

const PRIVATE = new BlockList();
PRIVATE.addSubnet('127.0.0.0', 8, 'ipv4');
PRIVATE.addSubnet('10.0.0.0', 8, 'ipv4');
PRIVATE.addSubnet('172.16.0.0', 12, 'ipv4');
PRIVATE.addSubnet('192.168.0.0', 16, 'ipv4');
PRIVATE.addSubnet('100.64.0.0', 10, 'ipv4'); // carrier-grade NAT
PRIVATE.addAddress('::1', 'ipv6');
PRIVATE.addSubnet('fc00::', 7, 'ipv6'); // unique local

/** Host names that only ever mean a metadata service. */
const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal']);

/** Why `address` (an IP literal) may not be called, or null when it may. */
export function refusedAddress(address: string, policy: UrlPolicy): string | null {
  let ip = address.replace(/^\[|\]$/g, '');
  let family = isIP(ip);
  if (family === 0) return `not an IP address: ${address}`;
  // IPv4-mapped IPv6 (::ffff:a.b.c.d) is the IPv4 address.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) {
    ip = mapped[1]!;
    family = 4;
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (ALWAYS_REFUSED.check(ip, type)) return `${address} is a link-local, metadata or reserved address`;
  if (!policy.allowPrivate && PRIVATE.check(ip, type)) return `${address} is a loopback or private address`;
  return null;
}

/** Parses and checks a webhook URL as an endpoint is saved: Stripe's 400 `url_invalid` when it cannot be used. */
export function checkWebhookUrl(raw: string, policy: UrlPolicy, param = 'url'): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DomainError('url_invalid', `Invalid URL: ${raw}`, { param });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new DomainError('url_invalid', `Invalid URL: ${raw}. The URL must use the http or https scheme.`, { param });
  if (url.username || url.password)
    throw new DomainError('url_invalid', `Invalid URL: ${raw}. The URL must not contain credentials.`, { param });
  const host = url.hostname.toLowerCase();
  if (METADATA_NAMES.has(host)) throw new DomainError('url_invalid', `Invalid URL: ${raw}. ${host} is a metadata service.`, { param });
  if (host === 'localhost' || host.endsWith('.localhost')) {
    if (!policy.allowPrivate) throw new DomainError('url_invalid', `Invalid URL: ${raw}. localhost is not allowed.`, { param });
  } else if (isIP(host.replace(/^\[|\]$/g, '')) !== 0) {
    const why = refusedAddress(host, policy);
    if (why) throw new DomainError('url_invalid', `Invalid URL: ${raw}. ${why}.`, { param });
  }
  return raw;
}
