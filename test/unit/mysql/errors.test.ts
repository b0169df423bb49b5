import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../../../src/errors.js';
import { classifyMysqlError, describeMysqlError } from '../../../src/mysql/errors.js';

const err = (fields: Record<string, unknown>, message = 'boom'): Error => Object.assign(new Error(message), fields);

describe('classifyMysqlError: does this failure prove mysqld alive?', () => {
  const table: [string, unknown, string][] = [
    ['access denied (1045)', err({ code: 'ER_ACCESS_DENIED_ERROR', errno: 1045 }), 'alive-but-refusing'],
    ['too many connections (1040)', err({ code: 'ER_CON_COUNT_ERROR', errno: 1040 }), 'alive-but-refusing'],
    ['host blocked (1129)', err({ code: 'ER_HOST_IS_BLOCKED', errno: 1129 }), 'alive-but-refusing'],
    ['host not privileged (1130)', err({ errno: 1130 }), 'alive-but-refusing'],
    ['connection refused', err({ code: 'ECONNREFUSED', errno: -111 }), 'unreachable'],
    ['socket file missing', err({ code: 'ENOENT' }), 'unreachable'],
    ['connection lost', err({ code: 'PROTOCOL_CONNECTION_LOST' }), 'unreachable'],
    ['connect timeout', err({ code: 'ETIMEDOUT' }), 'timeout'],
    ['query timeout', err({ code: 'PROTOCOL_SEQUENCE_TIMEOUT' }), 'timeout'],
    ['our own deadline', new AppError('DEADLINE_EXCEEDED', 'deadline'), 'timeout'],
    ['server shutting down (1053)', err({ code: 'ER_SERVER_SHUTDOWN', errno: 1053 }), 'query-failed'],
    ['something unknown', 'a string', 'unreachable'],
  ];
  for (const [name, e, kind] of table) {
    it(`when the error is ${name} then it is ${kind}`, () => assert.equal(classifyMysqlError(e), kind));
  }

  it('when an error is described then it has the code, the errno and the first message line only', () => {
    assert.equal(describeMysqlError(err({ code: 'ER_ACCESS_DENIED_ERROR', errno: 1045 }, "Access denied for user 'k'\nmore")), "ER_ACCESS_DENIED_ERROR #1045 Access denied for user 'k'");
    assert.equal(describeMysqlError(err({ code: 'ECONNREFUSED', errno: -111 }, 'connect ECONNREFUSED')), 'ECONNREFUSED connect ECONNREFUSED');
  });
});
