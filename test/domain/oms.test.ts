import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  DEFAULT_MAX_OMS_MESSAGE_BYTES,
  decodeOmsMessage,
  entityKeyOf,
  isIsoWithOffset,
  OMS_EVENT_TYPES,
  type OmsDecodeResult,
  type OmsEvent,
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

function decodeObject(value: unknown, opts?: { maxBytes?: number }): OmsDecodeResult {
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
