/**
 * New-user finding 6 (session 3): `tsnas dashboard --host 0.0.0.0` printed http://0.0.0.0:PORT,
 * which a browser cannot open. A wildcard listen address is shown as the loopback address and
 * this machine's own addresses; a specific address as itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { reachableUrls } from './index.js';

const nic = (address: string, family: 'IPv4' | 'IPv6', internal = false) =>
  ({ address, family, internal, netmask: '', mac: '', cidr: null, ...(family === 'IPv6' ? { scopeid: 0 } : {}) }) as NetworkInterfaceInfo;
const interfaces = {
  lo: [nic('127.0.0.1', 'IPv4', true), nic('::1', 'IPv6', true)],
  eth0: [nic('10.1.2.3', 'IPv4'), nic('fd00::5', 'IPv6'), nic('fe80::1', 'IPv6')],
  wlan0: [nic('192.168.0.7', 'IPv4')],
};

test('0.0.0.0: loopback first, then each IPv4 address of the machine; never 0.0.0.0', () => {
  const urls = reachableUrls('0.0.0.0', 'IPv4', 8765, '?token=abc', interfaces);
  assert.deepEqual(urls, ['http://127.0.0.1:8765/?token=abc', 'http://10.1.2.3:8765/?token=abc', 'http://192.168.0.7:8765/?token=abc']);
});

test(':: (all IPv6 and IPv4): loopbacks, IPv4 and global IPv6 addresses (link-local left out: it needs a zone id)', () => {
  const urls = reachableUrls('::', 'IPv6', 80, '', interfaces);
  assert.deepEqual(urls, ['http://127.0.0.1:80/', 'http://[::1]:80/', 'http://10.1.2.3:80/', 'http://[fd00::5]:80/', 'http://192.168.0.7:80/']);
  assert.ok(urls.every((u) => !/\/\/(0\.0\.0\.0|\[::\])[:/]/.test(u)));
});

test('a specific address is shown as it is (IPv6 in brackets)', () => {
  assert.deepEqual(reachableUrls('127.0.0.1', 'IPv4', 1, '', interfaces), ['http://127.0.0.1:1/']);
  assert.deepEqual(reachableUrls('10.1.2.3', 'IPv4', 1, '', interfaces), ['http://10.1.2.3:1/']);
  assert.deepEqual(reachableUrls('::1', 'IPv6', 1, '', interfaces), ['http://[::1]:1/']);
  // The machine's real interfaces: still no wildcard.
  assert.ok(reachableUrls('0.0.0.0', 'IPv4', 2).every((u) => !u.includes('0.0.0.0')));
});
