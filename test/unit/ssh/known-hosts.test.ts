import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  fingerprintMatches, knownHostsName, knownKeyTypes, sha256Fingerprint, sshKeyType, verifyHostKey,
} from '../../../src/ssh/known-hosts.js';

// Keys made with `ssh-keygen -t ed25519|ecdsa`; fingerprints as printed by `ssh-keygen -lf`; the hashed lines
// were written by `ssh-keygen -H` (OpenSSH 9.2) from "[db-b.example]:2222 K1" and "db-a.example K1".
const K1 = 'AAAAC3NzaC1lZDI1NTE5AAAAILYG/sqhRwsdp3et0KLcWqSl6WlRzRQQtcGasigZB/3f';
const K1_FP = 'SHA256:oR0T/dWKtbVgesLeclrczdbULhzfK2dKJxD8u6QzBdo';
const K2 = 'AAAAC3NzaC1lZDI1NTE5AAAAIKbmawpQ4J/td/a9h7PJxwU5NnRT49HgQvb0RW3y5Z4D';
const K3 = 'AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBLdLZWqujxskxeEJROcB+Smnlui38vNuWbcQZgchFp3BorR+NCtgKJ6swMbwo9+/RUn62fv9a9XKjQgjyg7lBWY=';
const K3_FP = 'SHA256:m7vSm7PWdn9WWhbyp5SALNkA+pnKtyxAqY6CAYDECnw';
const HASHED_B_2222 = `|1|4Onkr7JVa1Y7ohkZGQq5HtPIw6A=|DpFt0fEWMhrsaDX2+ATxF4FoDXM= ssh-ed25519 ${K1}`;
const HASHED_A = `|1|jE8cCUjZnMifFT6qLb63ZuSxdMo=|wQBu0dTb/v/I5Z430LEZvUURwWY= ssh-ed25519 ${K1}`;
const blob = (b64: string): Buffer => Buffer.from(b64, 'base64');

test('when the port is 22 then the lookup name is the bare host, otherwise [host]:port', () => {
  assert.equal(knownHostsName('db-b', 22), 'db-b');
  assert.equal(knownHostsName('10.0.0.2', 2222), '[10.0.0.2]:2222');
});

test('when a key blob is fingerprinted then the result equals ssh-keygen -lf output', () => {
  assert.equal(sha256Fingerprint(blob(K1)), K1_FP);
  assert.equal(sha256Fingerprint(blob(K3)), K3_FP);
  assert.equal(sshKeyType(blob(K1)), 'ssh-ed25519');
  assert.equal(sshKeyType(blob(K3)), 'ecdsa-sha2-nistp256');
});

test('when a pin is compared then only the same key matches, with or without base64 padding', () => {
  assert.ok(fingerprintMatches(K1_FP, blob(K1)));
  assert.ok(fingerprintMatches(`${K1_FP}=`, blob(K1)));
  assert.ok(!fingerprintMatches(K1_FP, blob(K2)));
  assert.ok(!fingerprintMatches(K1_FP.toLowerCase(), blob(K1)));
});

test('when a plain entry holds the same type and key then it is accepted, for bare and [host]:port names', () => {
  const text = `# comment\n\ndb-a.example ssh-ed25519 ${K1} root@a\n[db-b.example]:2222 ssh-ed25519 ${K2}\n`;
  assert.deepEqual(verifyHostKey(text, 'db-a.example', 22, blob(K1)), { ok: true });
  assert.deepEqual(verifyHostKey(text, 'DB-A.example', 22, blob(K1)), { ok: true });
  assert.deepEqual(verifyHostKey(text, 'db-b.example', 2222, blob(K2)), { ok: true });
});

test('when the host is listed with another key then the verdict is changed, and unknown when it is not listed', () => {
  const text = `db-a.example ssh-ed25519 ${K1}\n`;
  assert.deepEqual(verifyHostKey(text, 'db-a.example', 22, blob(K2)), { ok: false, reason: 'changed' });
  assert.deepEqual(verifyHostKey(text, 'db-a.example', 22, blob(K3)), { ok: false, reason: 'changed' });
  assert.deepEqual(verifyHostKey(text, 'db-b.example', 22, blob(K1)), { ok: false, reason: 'unknown' });
  // Same host on another port is another entry for OpenSSH.
  assert.deepEqual(verifyHostKey(text, 'db-a.example', 2222, blob(K1)), { ok: false, reason: 'unknown' });
  assert.deepEqual(verifyHostKey('', 'db-a.example', 22, blob(K1)), { ok: false, reason: 'unknown' });
});

test('when entries are hashed by ssh-keygen -H then they match their host name and port only', () => {
  const text = `${HASHED_B_2222}\n${HASHED_A}\n`;
  assert.deepEqual(verifyHostKey(text, 'db-b.example', 2222, blob(K1)), { ok: true });
  assert.deepEqual(verifyHostKey(text, 'db-a.example', 22, blob(K1)), { ok: true });
  assert.deepEqual(verifyHostKey(text, 'db-b.example', 22, blob(K1)), { ok: false, reason: 'unknown' });
  assert.deepEqual(verifyHostKey(text, 'db-b.example', 2222, blob(K2)), { ok: false, reason: 'changed' });
});

test('when the key type differs but the base64 is the same then it is not a match', () => {
  const text = `db-a.example ssh-rsa ${K1}\n`;
  assert.deepEqual(verifyHostKey(text, 'db-a.example', 22, blob(K1)), { ok: false, reason: 'changed' });
});

test('when host patterns use lists, wildcards and negation then matching follows OpenSSH', () => {
  const text = `db-a.example,10.0.0.1 ssh-ed25519 ${K1}\n*.db.example,!bad.db.example ssh-ed25519 ${K2}\n[10.0.0.?]:2222 ecdsa-sha2-nistp256 ${K3}\n`;
  assert.deepEqual(verifyHostKey(text, '10.0.0.1', 22, blob(K1)), { ok: true });
  assert.deepEqual(verifyHostKey(text, 'x.db.example', 22, blob(K2)), { ok: true });
  assert.deepEqual(verifyHostKey(text, 'bad.db.example', 22, blob(K2)), { ok: false, reason: 'unknown' });
  assert.deepEqual(verifyHostKey(text, '10.0.0.7', 2222, blob(K3)), { ok: true });
  assert.deepEqual(verifyHostKey(text, '10.0.0.17', 2222, blob(K3)), { ok: false, reason: 'unknown' });
});

test('when a key is @revoked then it is refused even if another line accepts it, and @cert-authority lines never accept', () => {
  const revoked = `db-a.example ssh-ed25519 ${K1}\n@revoked * ssh-ed25519 ${K1}\n`;
  assert.deepEqual(verifyHostKey(revoked, 'db-a.example', 22, blob(K1)), { ok: false, reason: 'revoked' });
  const ca = `@cert-authority db-a.example ssh-ed25519 ${K1}\n`;
  assert.deepEqual(verifyHostKey(ca, 'db-a.example', 22, blob(K1)), { ok: false, reason: 'unknown' });
});

test('when listing key types for a host then only its plain entries count, in file order without repeats', () => {
  const text = `db-a.example ecdsa-sha2-nistp256 ${K3}\n${HASHED_A}\ndb-a.example ssh-ed25519 ${K2}\nother ssh-rsa AAAA\n@revoked db-a.example ssh-rsa AAAA\n`;
  assert.deepEqual(knownKeyTypes(text, 'db-a.example', 22), ['ecdsa-sha2-nistp256', 'ssh-ed25519']);
  assert.deepEqual(knownKeyTypes(text, 'nobody', 22), []);
});

test('when a line is malformed (too few fields) then it is skipped, not fatal', () => {
  const text = `db-a.example\ndb-a.example ssh-ed25519\ndb-a.example ssh-ed25519 ${K1}\n`;
  assert.deepEqual(verifyHostKey(text, 'db-a.example', 22, blob(K1)), { ok: true });
});
