import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shellQuote } from '../../../src/ssh/ssh2-peer-files.js';

describe('the remote command line', () => {
  it('when argv words hold spaces, quotes or $ then each reaches the remote shell as one literal word', () => {
    assert.equal(shellQuote('--stream=xbstream'), '--stream=xbstream');
    assert.equal(shellQuote("it's $HOME"), `'it'\\''s $HOME'`);
    assert.equal(shellQuote('a b;rm -rf /'), "'a b;rm -rf /'");
  });
});
