import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { canonicalIp } from '../../../src/platform/ip.js';
import { parseProcEndpoint, tcpConnectionsOnPort } from '../../../src/platform/tcp-table.js';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const row = (local: string, remote: string, st: string): string =>
  `   0: ${local} ${remote} ${st} 00000000:00000000 00:00000000 00000000   0        0 4711 1 0000000000000000 20 4 30 10 -1\n`;

describe('the kernel socket table', () => {
  it('when /proc/net/tcp{,6} list sockets then the open ones on the port come back with both ends, v4-mapped as IPv4', () => {
    const root = mkdtempSync(join(tmpdir(), 'km-proc-'));
    try {
      mkdirSync(join(root, 'net'));
      writeFileSync(join(root, 'net', 'tcp'), HEADER
        + row('0200007F:0CEA', '0100007F:C350', '01') // 127.0.0.2:3306 ← 127.0.0.1:50000, ESTABLISHED
        + row('0100007F:0CEA', '0100007F:C351', '08') // 127.0.0.1:3306 ← 127.0.0.1:50001, CLOSE_WAIT
        + row('00000000:0CEA', '00000000:0000', '0A') // the listener
        + row('0200007F:0CEB', '0100007F:C352', '01')); // another port
      writeFileSync(join(root, 'net', 'tcp6'), HEADER
        + row('0000000000000000FFFF00000300007F:0CEA', '0000000000000000FFFF00000100007F:C353', '01'));
      assert.deepEqual(tcpConnectionsOnPort(3306, root), [
        { local: { ip: '127.0.0.2', port: 3306 }, remote: { ip: '127.0.0.1', port: 50000 } },
        { local: { ip: '127.0.0.1', port: 3306 }, remote: { ip: '127.0.0.1', port: 50001 } },
        { local: { ip: '127.0.0.3', port: 3306 }, remote: { ip: '127.0.0.1', port: 50003 } },
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('when an IPv6 address is printed as host-order words then it decodes to its canonical text', () => {
    // 2001:db8::1 as /proc/net/tcp6 prints it on a little-endian host.
    assert.deepEqual(parseProcEndpoint('B80D0120000000000000000001000000:0050'), { ip: '2001:db8::1', port: 80 });
    assert.equal(parseProcEndpoint('zz:0050'), undefined);
  });

  it('when the same address is spelled differently then canonicalIp makes one spelling', () => {
    assert.equal(canonicalIp('::ffff:10.0.0.5'), '10.0.0.5');
    assert.equal(canonicalIp('[2001:DB8:0:0::1]'), '2001:db8::1');
    assert.equal(canonicalIp('0:0:0:0:0:ffff:a00:5'), '10.0.0.5');
    assert.equal(canonicalIp('192.0.2.100'), '192.0.2.100');
  });
});
