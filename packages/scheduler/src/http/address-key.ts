import { isIPv6 } from 'node:net';

/**
 * The unit per-address limits count in: an IPv4 address, or the /64 network of an IPv6 one
 * (one host commonly holds a whole /64, so counting single IPv6 addresses would bound nothing).
 * `null` (no socket, e.g. `app.request()` in tests) is one address of its own.
 */
export function addressKey(address: string | null | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  if (!isIPv6(address)) return address;
  const [head, tail = ''] = address.toLowerCase().split('%')[0].split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') && tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
