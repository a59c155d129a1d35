import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeUtf8 } from '../../src/core/text.js';

describe('decodeUtf8', () => {
  it('reads UTF-8, multi-byte characters included, without a problem', () => {
    assert.deepEqual(decodeUtf8(Buffer.from('{"sku":"Café ₹ 😀"}', 'utf8')), { text: '{"sku":"Café ₹ 😀"}' });
  });

  it('says where Latin-1 bytes make it not UTF-8, and still gives text for the record', () => {
    const r = decodeUtf8(Buffer.from('{"brand":"Nestl\xe9"}', 'latin1'));
    assert.match(r.problem ?? '', /not valid UTF-8 \(first bad byte near character 15\)/);
    assert.equal(r.text, '{"brand":"Nestl\ufffd"}');
  });

  it('refuses gzip bytes', () => {
    assert.match(decodeUtf8(Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff])).problem ?? '', /not valid UTF-8/);
  });
});
