import { BlockList, isIP } from 'node:net';

/*
 * Which addresses a webhook may reach (TAPIT_WEBHOOK_ALLOWED_NETWORKS). A member sets webhook
 * URLs and reads the start of each answer, so without a limit the scheduler would be their way
 * into its own network (a cloud metadata endpoint, the database, the scheduler's own API).
 */

export const DEFAULT_ALLOWED_NETWORKS = 'external';

const KEYWORDS = ['external', 'loopback', 'private', '*'] as const;

const LOOPBACK: [string, number, 'ipv4' | 'ipv6'][] = [
  ['127.0.0.0', 8, 'ipv4'],
  ['0.0.0.0', 8, 'ipv4'],
  ['::1', 128, 'ipv6'],
  ['::', 128, 'ipv6'],
];
/** RFC 1918, shared address space (RFC 6598), unique local IPv6 (RFC 4193). */
const PRIVATE: [string, number, 'ipv4' | 'ipv6'][] = [
  ['10.0.0.0', 8, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['fc00::', 7, 'ipv6'],
];
/** Neither loopback nor private, and not the public internet either: reachable only through `*` or a CIDR. */
const SPECIAL: [string, number, 'ipv4' | 'ipv6'][] = [
  ['169.254.0.0', 16, 'ipv4'], // link-local: cloud metadata endpoints live here
  ['fe80::', 10, 'ipv6'],
  ['224.0.0.0', 3, 'ipv4'], // multicast, reserved and broadcast
  ['ff00::', 8, 'ipv6'],
  ['64:ff9b::', 96, 'ipv6'], // NAT64: an IPv4 address in disguise
  ['2002::', 16, 'ipv6'], // 6to4, likewise
];

function blockList(ranges: [string, number, 'ipv4' | 'ipv6'][]): BlockList {
  const list = new BlockList();
  for (const [network, prefix, family] of ranges) list.addSubnet(network, prefix, family);
  return list;
}
const loopback = blockList(LOOPBACK);
const privateRanges = blockList(PRIVATE);
const special = blockList(SPECIAL);

/** `::ffff:10.0.0.1` is 10.0.0.1: an IPv4-mapped address is judged as the IPv4 one. */
function normalize(address: string): { address: string; family: 'ipv4' | 'ipv6' } | null {
  const bare = address.replace(/^\[|\]$/g, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped) return { address: mapped[1], family: 'ipv4' };
  const version = isIP(bare);
  return version === 0 ? null : { address: bare, family: version === 4 ? 'ipv4' : 'ipv6' };
}

export class AllowedNetworks {
  private readonly keywords = new Set<string>();
  private readonly cidrs = new BlockList();

  /** `external,10.1.0.0/16,loopback`; throws a one-line error naming the bad entry. */
  constructor(readonly setting: string = DEFAULT_ALLOWED_NETWORKS) {
    for (const entry of setting.split(',').map((e) => e.trim()).filter((e) => e !== '')) {
      if ((KEYWORDS as readonly string[]).includes(entry)) {
        this.keywords.add(entry);
        continue;
      }
      const cidr = /^([^/]+)\/(\d{1,3})$/.exec(entry);
      const network = cidr ? normalize(cidr[1]) : null;
      const prefix = cidr ? Number(cidr[2]) : NaN;
      if (!network || prefix > (network.family === 'ipv4' ? 32 : 128)) {
        throw new Error(`"${entry}" is not ${KEYWORDS.join(', ')} or a CIDR such as 10.1.0.0/16`);
      }
      this.cidrs.addSubnet(network.address, prefix, network.family);
    }
    if (this.keywords.size === 0 && this.cidrs.rules.length === 0) throw new Error(`give at least one of ${KEYWORDS.join(', ')} or a CIDR`);
  }

  /** Whether a webhook may connect to this IP address. */
  allows(address: string): boolean {
    const ip = normalize(address);
    if (!ip) return false;
    if (this.keywords.has('*') || this.cidrs.check(ip.address, ip.family)) return true;
    if (loopback.check(ip.address, ip.family)) return this.keywords.has('loopback');
    if (privateRanges.check(ip.address, ip.family)) return this.keywords.has('private');
    if (special.check(ip.address, ip.family)) return false;
    return this.keywords.has('external');
  }

  /** The refusal recorded on the delivery: names the address and the setting to change. */
  refusal(host: string, address: string): string {
    const shown = host === address ? address : `${host} (${address})`;
    return `${shown} is not an address webhooks may reach (TAPIT_WEBHOOK_ALLOWED_NETWORKS=${this.setting})`;
  }
}
