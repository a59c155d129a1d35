import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  DEFAULT_MAX_OMS_MESSAGE_BYTES,
  decodeOmsMessage,
  entityKeyOf,
  isIsoWithOffset,
  MAX_REASON_LENGTH,
  OMS_EVENT_TYPES,
  type OmsDecodeOptions,
  type OmsDecodeResult,
  type OmsEvent,
  safeText,
} from '../../src/domain/oms.js';

const SAMPLES = join(process.cwd(), '..', 'shared', 'samples');
const OCCURRED_AT = '2026-11-20T10:00:00+05:30';

interface BadMessageSample {
  name: string;
  body: string;
  expect: string;
}

/** What in the reason shows the decoder named the problem, per sample. */
const REASON_NAMES: Record<string, RegExp> = {
  'not-json': /^not JSON: /,
  'truncated-json': /^not JSON: /,
  'array-not-object': /JSON object, got array/,
  'missing-id': /^id: required/,
  'unknown-type': /unknown type "product\.teleport"/,
  'negative-price': /^price: must be positive, got -10/,
  'price-as-formatted-string': /^price: expected a number, got string "₹1,299"/,
  'price-above-mrp': /price 45000 exceeds mrp 39080/,
  'fractional-quantity': /^quantity: .*non-negative integer, got 2\.5/,
  'empty-sku': /^sku: must not be empty/,
  'timestamp-without-offset': /^occurredAt: ISO 8601 with offset required/,
};

function decodeObject(value: unknown, opts?: OmsDecodeOptions): OmsDecodeResult {
  return decodeOmsMessage(JSON.stringify(value), opts);
}

function accepted(result: OmsDecodeResult): OmsEvent {
  if (!result.ok) assert.fail(`expected accepted, got rejected: ${result.reason}`);
  return result.event;
}

function rejected(result: OmsDecodeResult): { reason: string; id?: string; type?: string } {
  if (result.ok) assert.fail(`expected rejected, got accepted: ${JSON.stringify(result.event)}`);
  return result;
}

const validShip = {
  id: 'OMS-SHIP-1',
  type: 'order.ship',
  occurredAt: OCCURRED_AT,
  marketplace: 'flipkart',
  orderId: 'OD4300012345',
  lines: [
    { lineId: 'L1', quantity: 1 },
    { lineId: 'L2', quantity: 2 },
  ],
  carrier: 'Ekart',
  trackingNumber: 'FMPP0123456789',
  shippedAt: '2026-11-21T08:15:00.250+05:30',
};

const validCancel = {
  id: 'OMS-CANCEL-1',
  type: 'order.cancel',
  occurredAt: OCCURRED_AT,
  marketplace: 'amazon',
  orderId: '403-1234567-1234567',
  reason: 'NO_INVENTORY',
};

describe('decodeOmsMessage: shared bad-message samples', () => {
  const samples = JSON.parse(readFileSync(join(SAMPLES, 'bad-messages.json'), 'utf8')) as BadMessageSample[];

  it('has samples to check', () => {
    assert.ok(samples.length >= 10);
  });

  for (const sample of samples) {
    it(`${sample.name}: ${sample.expect}`, () => {
      const result = decodeOmsMessage(sample.body);
      if (sample.expect.startsWith('rejected')) {
        const { reason } = rejected(result);
        const names = REASON_NAMES[sample.name];
        assert.ok(names, `no expected reason recorded for sample ${sample.name} (reason was: ${reason})`);
        assert.match(reason, names);
      } else {
        assert.ok(sample.expect.startsWith('accepted'), `unknown expectation ${sample.expect}`);
        accepted(result);
      }
    });
  }

  it('keeps id and type on rejection when the body has them', () => {
    const r = rejected(decodeOmsMessage(samples.find((s) => s.name === 'price-above-mrp')!.body));
    assert.equal(r.id, 'OMS-X-6');
    assert.equal(r.type, 'price.update');
  });

  it('keeps the SKU exactly, URL characters included', () => {
    const event = accepted(decodeOmsMessage(samples.find((s) => s.name === 'sku-with-url-characters')!.body));
    assert.equal(event.type, 'stock.update');
    assert.equal(entityKeyOf(event), 'sku:LG/WM 8KG+STEAM,BLK');
  });
});

describe('decodeOmsMessage: shared OMS event stream', () => {
  const lines = readFileSync(join(SAMPLES, 'oms-events.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');

  it('decodes every line', () => {
    assert.ok(lines.length > 100);
    const failures: string[] = [];
    for (const [i, line] of lines.entries()) {
      const result = decodeOmsMessage(line);
      if (!result.ok) failures.push(`line ${i + 1}: ${result.reason}`);
    }
    assert.deepEqual(failures, []);
  });

  it('keeps the fields of a product.list as sent', () => {
    const event = accepted(decodeOmsMessage(lines[0]!));
    assert.deepEqual(event, JSON.parse(lines[0]!));
  });
});

describe('decodeOmsMessage: size', () => {
  it('rejects a body over the default 256 KiB limit, naming both sizes', () => {
    const body = JSON.stringify({ ...validCancel, reason: 'x'.repeat(300_000) });
    const { reason } = rejected(decodeOmsMessage(body));
    assert.equal(reason, `body is ${Buffer.byteLength(body)} bytes, limit ${DEFAULT_MAX_OMS_MESSAGE_BYTES}`);
  });

  it('counts UTF-8 bytes, not characters', () => {
    const body = JSON.stringify({ ...validCancel, reason: '₹'.repeat(100) });
    assert.ok(body.length < 400 && Buffer.byteLength(body) > 400);
    assert.match(rejected(decodeOmsMessage(body, { maxBytes: 400 })).reason, /limit 400$/);
  });

  it('accepts a body at the limit', () => {
    const body = JSON.stringify(validCancel);
    accepted(decodeOmsMessage(body, { maxBytes: Buffer.byteLength(body) }));
  });
});

describe('decodeOmsMessage: envelope', () => {
  it('names every inbound type', () => {
    assert.deepEqual(
      [...OMS_EVENT_TYPES].sort(),
      ['order.cancel', 'order.ship', 'price.update', 'product.list', 'product.unlist', 'stock.update'].sort(),
    );
  });

  it('rejects a missing type', () => {
    assert.equal(rejected(decodeObject({ id: 'A', occurredAt: OCCURRED_AT })).reason, 'type: required');
  });

  it('rejects JSON that is not an object', () => {
    assert.match(rejected(decodeOmsMessage('42')).reason, /JSON object, got 42/);
    assert.match(rejected(decodeOmsMessage('null')).reason, /JSON object, got null/);
  });

  it('takes the fallback id (IBM MQ MsgId) only when the body has no id', () => {
    const { id: _, ...noId } = validCancel;
    const r = decodeOmsMessage(JSON.stringify(noId), { fallbackId: 'mq:414d5120' });
    assert.ok(r.ok);
    assert.equal(r.event.id, 'mq:414d5120');
    const own = decodeOmsMessage(JSON.stringify(validCancel), { fallbackId: 'mq:414d5120' });
    assert.ok(own.ok);
    assert.equal(own.event.id, validCancel.id);
    assert.match(rejected(decodeObject(noId)).reason, /^id: required/);
  });

  it('rejects an empty id', () => {
    assert.match(rejected(decodeObject({ ...validCancel, id: '' })).reason, /^id: must not be empty/);
    assert.match(rejected(decodeObject({ ...validCancel, id: '   ' })).reason, /^id: must not be empty/);
  });

  it('tolerates unknown extra fields and drops them', () => {
    const event = accepted(decodeObject({ ...validCancel, omsVersion: '7.2', trace: { span: 1 } }));
    assert.equal('omsVersion' in event, false);
  });

  it('tolerates a UTF-8 byte order mark', () => {
    accepted(decodeOmsMessage(`\uFEFF${JSON.stringify(validCancel)}`));
  });

  it('never throws, whatever the body', () => {
    for (const body of [
      '',
      ' ',
      '{',
      '[]',
      '"x"',
      '{"type":{}}',
      '['.repeat(100_000),
      '{"__proto__":{"x":1}}',
    ]) {
      assert.equal(decodeOmsMessage(body).ok, false, body.slice(0, 20));
    }
  });
});

describe('decodeOmsMessage: occurredAt', () => {
  const stock = { id: 'S1', type: 'stock.update', sku: 'SAM-TV-1001', quantity: 3 };
  for (const occurredAt of [
    '2026-11-20T10:00:00Z',
    '2026-11-20T10:00:00+05:30',
    '2026-11-20T10:00:00-03:00',
    '2026-11-20T09:11:25.091000+05:30',
    '2026-11-20T09:11:25.123456789Z',
    '2026-11-20T10:00+05:30',
    '2028-02-29T10:00:00Z',
  ]) {
    it(`accepts ${occurredAt}`, () => {
      accepted(decodeObject({ ...stock, occurredAt }));
    });
  }
  for (const occurredAt of [
    '2026-11-20 10:00:00',
    '2026-11-20T10:00:00',
    '2026-11-20',
    '2026-11-20T10:00:00+0530',
    '1795146085091',
    '2026-02-30T10:00:00Z',
    '2026-11-20T24:00:00Z',
    '2026-13-01T10:00:00Z',
  ]) {
    it(`rejects ${occurredAt}`, () => {
      assert.match(rejected(decodeObject({ ...stock, occurredAt })).reason, /^occurredAt: /);
    });
  }
  it('rejects a number', () => {
    assert.match(
      rejected(decodeObject({ ...stock, occurredAt: 1795146085091 })).reason,
      /^occurredAt: expected an ISO 8601 timestamp with offset, got 1795146085091/,
    );
  });
  it('isIsoWithOffset agrees', () => {
    assert.equal(isIsoWithOffset('2026-11-20T10:00:00+05:30'), true);
    assert.equal(isIsoWithOffset('2026-11-20T10:00:00'), false);
  });
});

describe('decodeOmsMessage: listing events', () => {
  const list = {
    id: 'L1',
    type: 'product.list',
    occurredAt: OCCURRED_AT,
    sku: 'SAM-TV-1001',
    marketplaces: ['amazon', 'flipkart'],
    title: 'Samsung TV',
    brand: 'Samsung',
    ean: '8981519975873',
    productType: 'TELEVISION',
    price: 35150,
    mrp: 39080,
    quantity: 15,
    attributes: {},
  };

  it('accepts product.list with empty attributes', () => {
    const event = accepted(decodeObject(list));
    assert.equal(entityKeyOf(event), 'sku:SAM-TV-1001');
  });

  for (const field of ['title', 'brand', 'ean', 'productType', 'price', 'mrp', 'quantity', 'attributes']) {
    it(`rejects product.list without ${field}`, () => {
      const { [field]: _dropped, ...rest } = list as Record<string, unknown>;
      assert.match(rejected(decodeObject(rest)).reason, new RegExp(`^${field}: required`));
    });
  }

  it('rejects product.list without marketplaces', () => {
    const { marketplaces: _m, ...rest } = list;
    assert.match(rejected(decodeObject(rest)).reason, /^marketplaces: required/);
  });

  it('rejects an empty or unknown marketplace list', () => {
    assert.match(
      rejected(decodeObject({ ...list, marketplaces: [] })).reason,
      /^marketplaces: must not be empty/,
    );
    assert.match(
      rejected(decodeObject({ ...list, marketplaces: ['amazon', 'myntra'] })).reason,
      /^marketplaces\[1\]: expected one of amazon, flipkart, tatacliq, got string "myntra"/,
    );
  });

  it('rejects attributes that are not an object', () => {
    assert.match(
      rejected(decodeObject({ ...list, attributes: [1] })).reason,
      /^attributes: expected an object/,
    );
  });

  it('accepts a non-ASCII SKU and trims surrounding spaces', () => {
    const event = accepted(decodeObject({ ...list, sku: '  साड़ी-RED/XL  ' }));
    assert.equal(entityKeyOf(event), 'sku:साड़ी-RED/XL');
  });

  it('rejects a SKU over 100 characters', () => {
    accepted(decodeObject({ ...list, sku: 'x'.repeat(100) }));
    assert.match(
      rejected(decodeObject({ ...list, sku: 'x'.repeat(101) })).reason,
      /^sku: must be at most 100/,
    );
  });

  it('rejects a price with more than 2 decimals', () => {
    accepted(decodeObject({ ...list, price: 19.99, mrp: 20.1 }));
    assert.match(
      rejected(decodeObject({ ...list, price: 19.999 })).reason,
      /^price: at most 2 decimals allowed, got 19\.999/,
    );
  });

  it('rejects product.list priced above mrp', () => {
    assert.equal(rejected(decodeObject({ ...list, price: 40000 })).reason, 'price 40000 exceeds mrp 39080');
  });

  it('accepts price.update without marketplaces (all listed marketplaces)', () => {
    const event = accepted(
      decodeObject({ id: 'P1', type: 'price.update', occurredAt: OCCURRED_AT, sku: 'A', price: 10, mrp: 10 }),
    );
    assert.equal(event.type === 'price.update' && event.marketplaces, undefined);
  });

  it('rejects price.update without mrp', () => {
    assert.match(
      rejected(decodeObject({ id: 'P1', type: 'price.update', occurredAt: OCCURRED_AT, sku: 'A', price: 10 }))
        .reason,
      /^mrp: required/,
    );
  });

  it('accepts product.unlist and requires its marketplaces', () => {
    const unlist = { id: 'U1', type: 'product.unlist', occurredAt: OCCURRED_AT, sku: 'A' };
    accepted(decodeObject({ ...unlist, marketplaces: ['tatacliq'] }));
    assert.match(rejected(decodeObject(unlist)).reason, /^marketplaces: required/);
  });

  it('accepts stock.update with or without locationId, and zero stock', () => {
    const stock = { id: 'S1', type: 'stock.update', occurredAt: OCCURRED_AT, sku: 'A', quantity: 0 };
    accepted(decodeObject(stock));
    const event = accepted(decodeObject({ ...stock, locationId: null }));
    assert.equal('locationId' in event, false);
    accepted(decodeObject({ ...stock, locationId: 'STORE-BLR-014' }));
    assert.match(
      rejected(decodeObject({ ...stock, locationId: '' })).reason,
      /^locationId: must not be empty/,
    );
  });

  it('rejects negative or string quantity', () => {
    const stock = { id: 'S1', type: 'stock.update', occurredAt: OCCURRED_AT, sku: 'A' };
    assert.match(rejected(decodeObject({ ...stock, quantity: -1 })).reason, /^quantity: .* got -1/);
    assert.match(rejected(decodeObject({ ...stock, quantity: '3' })).reason, /^quantity: .* got string "3"/);
  });
});

describe('decodeOmsMessage: order.ship', () => {
  it('accepts a valid shipment', () => {
    const event = accepted(decodeObject(validShip));
    assert.deepEqual(event, validShip);
    assert.equal(entityKeyOf(event), 'order:flipkart:OD4300012345');
  });

  it('rejects a shipment without lines or with empty lines', () => {
    const { lines: _l, ...rest } = validShip;
    assert.match(rejected(decodeObject(rest)).reason, /^lines: required/);
    assert.match(rejected(decodeObject({ ...validShip, lines: [] })).reason, /^lines: must not be empty/);
  });

  it('rejects a line quantity of zero or a fraction', () => {
    for (const quantity of [0, 1.5, -1]) {
      assert.match(
        rejected(decodeObject({ ...validShip, lines: [{ lineId: 'L1', quantity }] })).reason,
        /^lines\[0\]\.quantity: expected a positive integer/,
      );
    }
  });

  it('rejects a line without lineId and a repeated lineId', () => {
    assert.match(
      rejected(decodeObject({ ...validShip, lines: [{ quantity: 1 }] })).reason,
      /^lines\[0\]\.lineId: required/,
    );
    assert.match(
      rejected(
        decodeObject({
          ...validShip,
          lines: [
            { lineId: 'L1', quantity: 1 },
            { lineId: 'L1', quantity: 1 },
          ],
        }),
      ).reason,
      /duplicate lineId "L1"/,
    );
  });

  it('rejects an unknown marketplace', () => {
    assert.match(
      rejected(decodeObject({ ...validShip, marketplace: 'meesho' })).reason,
      /^marketplace: expected one of amazon, flipkart, tatacliq, got string "meesho"/,
    );
  });

  for (const field of ['marketplace', 'orderId', 'carrier', 'trackingNumber', 'shippedAt']) {
    it(`rejects a shipment without ${field}`, () => {
      const { [field]: _dropped, ...rest } = validShip as Record<string, unknown>;
      assert.match(rejected(decodeObject(rest)).reason, new RegExp(`^${field}: required`));
    });
  }

  it('rejects shippedAt without offset', () => {
    assert.match(
      rejected(decodeObject({ ...validShip, shippedAt: '2026-11-21T08:15:00' })).reason,
      /^shippedAt: ISO 8601 with offset required/,
    );
  });

  it('reports several problems at once', () => {
    const { reason } = rejected(decodeObject({ ...validShip, carrier: '', trackingNumber: 7 }));
    assert.match(reason, /carrier: must not be empty/);
    assert.match(reason, /trackingNumber: expected a string, got 7/);
  });
});

describe('decodeOmsMessage: order.cancel', () => {
  it('accepts a whole-order cancel without lines', () => {
    const event = accepted(decodeObject(validCancel));
    assert.equal(entityKeyOf(event), 'order:amazon:403-1234567-1234567');
    assert.equal(event.type === 'order.cancel' && event.lines, undefined);
  });

  it('accepts a partial cancel with lines', () => {
    const event = accepted(decodeObject({ ...validCancel, lines: [{ lineId: 'L2', quantity: 1 }] }));
    assert.deepEqual(event.type === 'order.cancel' && event.lines, [{ lineId: 'L2', quantity: 1 }]);
  });

  it('rejects an empty line list (omit lines to cancel the whole order)', () => {
    assert.match(rejected(decodeObject({ ...validCancel, lines: [] })).reason, /^lines: must not be empty/);
  });

  it('rejects a cancel without reason or orderId', () => {
    const { reason: _r, ...noReason } = validCancel;
    assert.match(rejected(decodeObject(noReason)).reason, /^reason: required/);
    assert.match(
      rejected(decodeObject({ ...validCancel, orderId: '  ' })).reason,
      /^orderId: must not be empty/,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Inputs JSON.parse accepts but PostgreSQL or JSON.stringify would refuse later.

const storableList = {
  id: 'L1',
  type: 'product.list',
  occurredAt: OCCURRED_AT,
  sku: 'SAM-TV-1001',
  marketplaces: ['amazon'],
  title: 'Samsung TV',
  brand: 'Samsung',
  ean: '8981519975873',
  productType: 'TELEVISION',
  price: 35150,
  mrp: 39080,
  quantity: 15,
  attributes: {},
};
const storableStock = {
  id: 'S1',
  type: 'stock.update',
  occurredAt: OCCURRED_AT,
  sku: 'SAM-TV-1001',
  quantity: 3,
};

/** `{"a":{"a":…1…}}` nested `depth` objects deep, built as text (JSON.stringify would overflow). */
function nestedText(depth: number): string {
  return '{"a":'.repeat(depth - 1) + '{"a":1}' + '}'.repeat(depth - 1);
}

function listWithAttributesText(attributesText: string): string {
  return JSON.stringify({ ...storableList, attributes: 'ATTRS' }).replace('"ATTRS"', attributesText);
}

describe('decodeOmsMessage: NUL and lone surrogates', () => {
  it('rejects an escaped NUL in a field, naming the field', () => {
    const r = rejected(decodeObject({ ...storableList, sku: 'SAM\u0000TV' }));
    assert.match(r.reason, /^sku: contains a NUL character \(U\+0000\)/);
    assert.match(
      rejected(decodeObject({ ...validCancel, reason: 'NO\u0000STOCK' })).reason,
      /^reason: contains a NUL/,
    );
  });

  it('rejects a lone surrogate in a field, naming the field', () => {
    assert.match(
      rejected(decodeObject({ ...storableList, title: 'a\ud800' })).reason,
      /^title: contains a lone UTF-16 surrogate \(U\+D800\)/,
    );
    assert.match(
      rejected(decodeObject({ ...validShip, lines: [{ lineId: '\udc00', quantity: 1 }] })).reason,
      /^lines\[0\]\.lineId: contains a lone UTF-16 surrogate \(U\+DC00\)/,
    );
  });

  it('rejects NUL or lone surrogates in nested attributes keys and values', () => {
    assert.match(
      rejected(decodeObject({ ...storableList, attributes: { dims: { unit: 'c\u0000m' } } })).reason,
      /^attributes\.dims\.unit: contains a NUL/,
    );
    assert.match(
      rejected(decodeObject({ ...storableList, attributes: { tags: ['ok', 'x\ud83d'] } })).reason,
      /^attributes\.tags\[1\]: contains a lone UTF-16 surrogate \(U\+D83D\)/,
    );
    assert.match(
      rejected(decodeObject({ ...storableList, attributes: { 'co\u0000lor': 'Black' } })).reason,
      /^attributes: key "co\\u0000lor" contains a NUL/,
    );
  });

  it('keeps emoji (well-formed pairs) and does not echo an unstorable id', () => {
    accepted(decodeObject({ ...validCancel, reason: 'CUSTOMER 😀' }));
    const r = rejected(decodeObject({ ...validCancel, id: 'OMS\u0000-1' }));
    assert.match(r.reason, /^id: contains a NUL/);
    assert.equal(r.id, undefined);
    assert.equal(rejected(decodeObject({ ...validCancel, type: 'x\u0000' })).type, undefined);
  });

  it('rejects a body with raw NUL characters early, suggesting UTF-16', () => {
    const utf16 = Buffer.from(JSON.stringify(validCancel), 'utf16le').toString('utf8');
    const r = rejected(decodeOmsMessage(utf16));
    assert.match(r.reason, /^body contains NUL characters \(UTF-16 sent as UTF-8\?\)/);
  });

  it('rejects a body with a raw lone surrogate early', () => {
    const body = JSON.stringify(validCancel).replace('NO_INVENTORY', 'NO\ud800');
    assert.match(
      rejected(decodeOmsMessage(body)).reason,
      /^body is not well-formed text: lone UTF-16 surrogate U\+D800/,
    );
  });
});

describe('decodeOmsMessage: timestamps PostgreSQL can store', () => {
  for (const occurredAt of [
    '0001-01-01T00:00:00Z',
    '9999-12-31T23:59:59+14:00',
    '2026-11-20T10:00:00-14:00',
    '2026-11-20T10:00:00+05:45',
  ]) {
    it(`accepts ${occurredAt}`, () => {
      accepted(decodeObject({ ...storableStock, occurredAt }));
      assert.equal(isIsoWithOffset(occurredAt), true);
    });
  }

  it('rejects year 0000', () => {
    assert.match(
      rejected(decodeObject({ ...storableStock, occurredAt: '0000-06-01T10:00:00Z' })).reason,
      /^occurredAt: year must be 0001 to 9999/,
    );
    assert.match(
      rejected(decodeObject({ ...validShip, shippedAt: '0000-06-01T10:00:00Z' })).reason,
      /^shippedAt: year must be 0001 to 9999/,
    );
    assert.equal(isIsoWithOffset('0000-06-01T10:00:00Z'), false);
  });

  for (const occurredAt of [
    '2026-11-20T10:00:00+14:30',
    '2026-11-20T10:00:00+15:00',
    '2026-11-20T10:00:00-18:00',
  ]) {
    it(`rejects the offset of ${occurredAt}`, () => {
      assert.match(
        rejected(decodeObject({ ...storableStock, occurredAt })).reason,
        /^occurredAt: offset must be at most ±14:00/,
      );
    });
  }

  it('rejects a leap second as such', () => {
    for (const occurredAt of ['2016-12-31T23:59:60Z', '2017-01-01T05:29:60+05:30']) {
      assert.match(
        rejected(decodeObject({ ...storableStock, occurredAt })).reason,
        /^occurredAt: leap second not supported/,
      );
    }
    assert.match(
      rejected(decodeObject({ ...validShip, shippedAt: '2016-12-31T23:59:60Z' })).reason,
      /^shippedAt: leap second not supported/,
    );
    // Second 60 that is not 23:59 UTC is no leap second at all.
    assert.match(
      rejected(decodeObject({ ...storableStock, occurredAt: '2026-11-20T10:00:60Z' })).reason,
      /^occurredAt: not a real date and time/,
    );
  });
});

describe('decodeOmsMessage: occurredAt in the future', () => {
  const now = Date.parse('2026-11-20T04:30:00Z'); // 10:00 in India

  it('accepts up to an hour ahead of now by default, and any past time', () => {
    accepted(decodeObject({ ...storableStock, occurredAt: '2026-11-20T10:59:59+05:30' }, { now }));
    accepted(decodeObject({ ...storableStock, occurredAt: '2026-11-20T11:00:00+05:30' }, { now }));
    accepted(decodeObject({ ...storableStock, occurredAt: '2001-01-01T00:00:00Z' }, { now }));
  });

  it('rejects more than an hour ahead, naming both instants', () => {
    const { reason } = rejected(
      decodeObject({ ...storableStock, occurredAt: '2026-11-20T11:00:01+05:30' }, { now }),
    );
    assert.match(reason, /^occurredAt: 2026-11-20T11:00:01\+05:30 is more than 1 hour after now/);
    assert.match(reason, /2026-11-20T04:30:00\.000Z/);
    assert.match(
      rejected(decodeObject({ ...validCancel, occurredAt: '9999-12-31T00:00:00Z' }, { now })).reason,
      /^occurredAt: 9999-12-31T00:00:00Z is more than/,
    );
  });

  it('honours maxFutureMs', () => {
    const occurredAt = '2026-11-20T04:30:01Z';
    accepted(decodeObject({ ...storableStock, occurredAt }, { now, maxFutureMs: 1000 }));
    assert.match(
      rejected(decodeObject({ ...storableStock, occurredAt }, { now, maxFutureMs: 0 })).reason,
      /^occurredAt: .* after now/,
    );
  });

  it('does not check without now (as before)', () => {
    accepted(decodeObject({ ...storableStock, occurredAt: '9999-12-31T00:00:00Z' }));
  });
});

describe('decodeOmsMessage: upper bounds', () => {
  it('accepts quantity up to 1,000,000 and rejects more', () => {
    accepted(decodeObject({ ...storableStock, quantity: 1_000_000 }));
    assert.match(
      rejected(decodeObject({ ...storableStock, quantity: 1_000_001 })).reason,
      /^quantity: must be at most 1000000, got 1000001/,
    );
    assert.match(
      rejected(decodeObject({ ...storableList, quantity: Number.MAX_SAFE_INTEGER })).reason,
      /^quantity: must be at most 1000000/,
    );
    assert.match(
      rejected(decodeObject({ ...validShip, lines: [{ lineId: 'L1', quantity: 1_000_001 }] })).reason,
      /^lines\[0\]\.quantity: must be at most 1000000/,
    );
  });

  it('accepts price and mrp up to 1,000,000,000 and rejects more', () => {
    accepted(decodeObject({ ...storableList, price: 999_999_999.99, mrp: 1_000_000_000 }));
    assert.match(
      rejected(decodeObject({ ...storableList, price: 1000, mrp: 1_000_000_000.01 })).reason,
      /^mrp: must be at most 1000000000, got 1000000000\.01/,
    );
    assert.match(
      rejected(decodeObject({ ...storableList, price: 2e9, mrp: 3e9 })).reason,
      /^price: must be at most 1000000000/,
    );
  });

  it('applies the 2-decimals rule exactly, not after float rounding', () => {
    // As a double this is 12345678901234568: toFixed(2) round-trips, yet it was sent with decimals.
    const body = JSON.stringify({ ...storableList, price: 'P', mrp: 'M' })
      .replace('"P"', '12345678901234567.89')
      .replace('"M"', '12345678901234567.89');
    const { reason } = rejected(decodeOmsMessage(body));
    assert.match(reason, /^price: must be at most 1000000000/);
    assert.match(
      rejected(decodeObject({ ...storableList, price: 0.1 + 0.2, mrp: 1 })).reason,
      /^price: at most 2 decimals allowed/,
    );
    assert.match(
      rejected(decodeObject({ ...storableList, price: 1e-7, mrp: 1 })).reason,
      /^price: at most 2 decimals allowed/,
    );
  });
});

describe('decodeOmsMessage: id and SKU characters', () => {
  it('accepts an id of 200 characters (code points) and rejects 201', () => {
    accepted(decodeObject({ ...validCancel, id: 'x'.repeat(200) }));
    accepted(decodeObject({ ...validCancel, id: '😀'.repeat(200) }));
    const r = rejected(decodeObject({ ...validCancel, id: 'x'.repeat(201) }));
    assert.match(r.reason, /^id: must be at most 200 characters, got 201/);
    assert.equal(r.id, undefined, 'an id the database refuses is not echoed as the key');
  });

  it('rejects control characters in an id', () => {
    for (const [id, shown] of [
      ['OMS-1\n', 'U\\+000A'],
      ['OMS\t1', 'U\\+0009'],
      ['OMS-1\u007f', 'U\\+007F'],
    ] as const) {
      assert.match(
        rejected(decodeObject({ ...validCancel, id })).reason,
        new RegExp(`^id: must not contain control characters, got ${shown}`),
      );
    }
  });

  it('rejects control characters in a SKU, even at the ends', () => {
    for (const sku of ['SAM\nTV', 'SAM\tTV', 'SAM-TV\n', '\rSAM-TV', 'SAM\u001bTV']) {
      assert.match(
        rejected(decodeObject({ ...storableStock, sku })).reason,
        /^sku: must not contain control characters, got U\+00/,
        JSON.stringify(sku),
      );
    }
  });

  it('rejects a SKU of only zero-width or format characters', () => {
    for (const sku of ['\u200b\u200b', ' \u200d \ufeff', '\u00ad']) {
      assert.match(
        rejected(decodeObject({ ...storableStock, sku })).reason,
        /^sku: must not be empty/,
        JSON.stringify(sku),
      );
    }
  });

  it('rejects bidi override and isolate characters in a SKU', () => {
    for (const ch of [
      '\u202a',
      '\u202b',
      '\u202c',
      '\u202d',
      '\u202e',
      '\u2066',
      '\u2067',
      '\u2068',
      '\u2069',
    ]) {
      assert.match(
        rejected(decodeObject({ ...storableStock, sku: `SAM${ch}TV` })).reason,
        /^sku: must not contain bidirectional control characters/,
        JSON.stringify(ch),
      );
    }
  });

  it('keeps non-ASCII letters, spaces, URL characters and emoji in a SKU', () => {
    for (const sku of ['साड़ी RED/XL', 'A+B,C%20#1?x:y', 'MUG-😀', 'FAMILY-👨‍👩‍👧', 'ÇA-ÇA']) {
      const event = accepted(decodeObject({ ...storableStock, sku }));
      assert.equal(entityKeyOf(event), `sku:${sku}`);
    }
  });
});

describe('decodeOmsMessage: attributes bounds', () => {
  it('accepts attributes nested 8 levels deep and rejects 9', () => {
    accepted(decodeOmsMessage(listWithAttributesText(nestedText(8))));
    assert.match(
      rejected(decodeOmsMessage(listWithAttributesText(nestedText(9)))).reason,
      /^attributes: nested more than 8 levels deep/,
    );
  });

  it('counts arrays as levels', () => {
    const arrays = `{"a":${'['.repeat(7)}1${']'.repeat(7)}}`;
    accepted(decodeOmsMessage(listWithAttributesText(arrays)));
    const deeper = `{"a":${'['.repeat(8)}1${']'.repeat(8)}}`;
    assert.match(
      rejected(decodeOmsMessage(listWithAttributesText(deeper))).reason,
      /^attributes: nested more/,
    );
  });

  it('rejects a 5000-deep object without throwing (JSON.stringify would overflow later)', () => {
    const result = decodeOmsMessage(listWithAttributesText(nestedText(5000)));
    assert.match(rejected(result).reason, /^attributes: nested more than 8 levels deep/);
  });

  it('survives a deep object outside attributes (dropped unknown field)', () => {
    const body = JSON.stringify({ ...storableStock, trace: 'T' }).replace('"T"', nestedText(20_000));
    accepted(decodeOmsMessage(body));
  });

  it('accepts 200 keys in total and rejects 201, counting nested keys', () => {
    const keys = (n: number, prefix: string) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, i]));
    accepted(decodeObject({ ...storableList, attributes: keys(200, 'k') }));
    assert.match(
      rejected(decodeObject({ ...storableList, attributes: keys(201, 'k') })).reason,
      /^attributes: more than 200 keys in total/,
    );
    assert.match(
      rejected(decodeObject({ ...storableList, attributes: { a: keys(100, 'a'), b: keys(99, 'b') } })).reason,
      /^attributes: more than 200 keys in total/,
    );
  });
});

describe('decodeOmsMessage: reasons are storable', () => {
  const isStorable = (s: string) =>
    s.isWellFormed() && !s.includes('\u0000') && s.length <= MAX_REASON_LENGTH;

  it('does not quote half an emoji from the JSON.parse error', () => {
    const { reason } = rejected(decodeOmsMessage('😀 not json'));
    assert.match(reason, /^not JSON: /);
    assert.ok(isStorable(reason), JSON.stringify(reason));
  });

  it('keeps every reason within 300 characters', () => {
    const long = 'myntra-'.repeat(20);
    const { reason } = rejected(
      decodeObject({
        id: 'L',
        type: 'product.list',
        occurredAt: 'x',
        sku: '',
        marketplaces: [long],
        title: 5,
        brand: 5,
        ean: 5,
        productType: 5,
      }),
    );
    assert.ok(isStorable(reason), `${reason.length}: ${reason}`);
    for (const body of [
      '{"a":' + '😀'.repeat(500),
      'x'.repeat(5000),
      JSON.stringify({ ...storableStock, type: long }),
    ]) {
      assert.ok(isStorable(rejected(decodeOmsMessage(body)).reason));
    }
  });

  it('safeText makes text well-formed, drops NUL and cuts at a code-point boundary', () => {
    assert.equal(safeText('a\ud800b\u0000c', 10), 'a\ufffdbc');
    assert.equal(safeText('plain', 5), 'plain');
    assert.equal(safeText('abcdef', 4), 'abc…');
    const cut = safeText('😀'.repeat(10), 4);
    assert.equal(cut, '😀…');
    assert.ok(cut.isWellFormed() && cut.length <= 4);
    assert.equal(safeText('abc', 0), '');
  });
});

describe('decodeOmsMessage: duplicate keys', () => {
  it('keeps the last value, as JSON.parse does (documented, deliberate)', () => {
    const body = JSON.stringify(storableStock).replace('"quantity":3', '"quantity":1,"quantity":2');
    const event = accepted(decodeOmsMessage(body));
    assert.equal(event.type === 'stock.update' && event.quantity, 2);
  });
});
