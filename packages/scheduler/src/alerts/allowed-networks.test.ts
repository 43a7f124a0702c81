import { describe, expect, it } from 'vitest';
import { AllowedNetworks } from './allowed-networks.js';

describe('TAPIT_WEBHOOK_ALLOWED_NETWORKS', () => {
  const cases: [string, string, boolean][] = [
    ['external', '93.184.216.34', true],
    ['external', '2606:2800:220:1:248:1893:25c8:1946', true],
    ['external', '127.0.0.1', false],
    ['external', '::1', false],
    ['external', '0.0.0.0', false],
    ['external', '10.1.2.3', false],
    ['external', '172.20.0.1', false],
    ['external', '192.168.1.1', false],
    ['external', '100.64.0.1', false],
    ['external', 'fd00::1', false],
    ['external', '169.254.169.254', false],
    ['external', 'fe80::1', false],
    ['external', '224.0.0.1', false],
    ['external', '255.255.255.255', false],
    ['external', '::ffff:127.0.0.1', false],
    ['external', '::ffff:10.0.0.1', false],
    ['external', '64:ff9b::a00:1', false],
    ['external', 'not-an-ip', false],
    ['loopback', '127.0.0.1', true],
    ['loopback', '::ffff:127.0.0.1', true],
    ['loopback', '93.184.216.34', false],
    ['private', '10.1.2.3', true],
    ['private', '127.0.0.1', false],
    ['private', '169.254.169.254', false],
    ['external,private', '192.168.1.1', true],
    ['10.1.0.0/16', '10.1.200.3', true],
    ['10.1.0.0/16', '10.2.0.1', false],
    ['10.1.0.0/16', '93.184.216.34', false],
    ['169.254.169.254/32', '169.254.169.254', true],
    ['fd12::/16', 'fd12::7', true],
    ['*', '169.254.169.254', true],
    ['*', '127.0.0.1', true],
  ];
  it.each(cases)('%s allows %s: %s', (setting, address, allowed) => {
    expect(new AllowedNetworks(setting).allows(address)).toBe(allowed);
  });

  it.each(['', 'internet', '10.0.0.0/33', '::/129', 'example.com/8', ','])('refuses %j naming what is allowed', (setting) => {
    expect(() => new AllowedNetworks(setting)).toThrow(/external, loopback, private, \*/);
  });
});
