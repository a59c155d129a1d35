/**
 * Inbound OMS messages (DESIGN §2): decoding and validation.
 *
 * `decodeOmsMessage` is the only door from a queue body to an `OmsEvent`. It never throws: a bad
 * body is an answer (`ok: false` with a reason a person can act on), because bad input must go to
 * the backout queue and never stop the consumer. Unknown extra fields are tolerated and dropped
 * (the OMS may add fields); `null` in an optional field means absent.
 */
import { z } from 'zod';
import { MARKETPLACES, type MarketplaceId } from './types.js';

export const OMS_EVENT_TYPES = [
  'product.list',
  'product.unlist',
  'price.update',
  'stock.update',
  'order.ship',
  'order.cancel',
] as const;
export type OmsEventType = (typeof OMS_EVENT_TYPES)[number];

/** Bodies above this are rejected before parsing. */
export const DEFAULT_MAX_OMS_MESSAGE_BYTES = 256 * 1024;
export const MAX_SKU_LENGTH = 100;

interface OmsEventBase {
  /** Unique per message: the idempotency key. */
  id: string;
  /** ISO 8601 with offset, as sent (e.g. `2026-11-20T09:00:15+05:30`). Decides which value is newest. */
  occurredAt: string;
}

export interface ProductListEvent extends OmsEventBase {
  type: 'product.list';
  sku: string;
  marketplaces: MarketplaceId[];
  title: string;
  brand: string;
  ean: string;
  productType: string;
  /** INR, at most 2 decimals. */
  price: number;
  mrp: number;
  quantity: number;
  attributes: Record<string, unknown>;
}

export interface ProductUnlistEvent extends OmsEventBase {
  type: 'product.unlist';
  sku: string;
  marketplaces: MarketplaceId[];
}

export interface PriceUpdateEvent extends OmsEventBase {
  type: 'price.update';
  sku: string;
  /** Absent: every marketplace the SKU is listed on. */
  marketplaces?: MarketplaceId[];
  price: number;
  mrp: number;
}

export interface StockUpdateEvent extends OmsEventBase {
  type: 'stock.update';
  sku: string;
  /** Absolute available quantity, not a delta. */
  quantity: number;
  locationId?: string;
}

export interface OrderLineQuantity {
  lineId: string;
  quantity: number;
}

export interface OrderShipEvent extends OmsEventBase {
  type: 'order.ship';
  marketplace: MarketplaceId;
  orderId: string;
  lines: OrderLineQuantity[];
  carrier: string;
  trackingNumber: string;
  /** ISO 8601 with offset. */
  shippedAt: string;
}

export interface OrderCancelEvent extends OmsEventBase {
  type: 'order.cancel';
  marketplace: MarketplaceId;
  orderId: string;
  /** Absent: the whole order. */
  lines?: OrderLineQuantity[];
  reason: string;
}

export type ListingEvent = ProductListEvent | ProductUnlistEvent | PriceUpdateEvent | StockUpdateEvent;
export type OrderEvent = OrderShipEvent | OrderCancelEvent;
export type OmsEvent = ListingEvent | OrderEvent;

export type OmsDecodeResult =
  | { ok: true; event: OmsEvent }
  | { ok: false; reason: string; id?: string; type?: string };

export interface OmsDecodeOptions {
  /** Largest accepted body in UTF-8 bytes. Default 256 KiB. */
  maxBytes?: number;
}

/** The actor key an event belongs to: `sku:<sku>` for listing events, `order:<marketplace>:<orderId>`. */
export function entityKeyOf(event: OmsEvent): string {
  switch (event.type) {
    case 'product.list':
    case 'product.unlist':
    case 'price.update':
    case 'stock.update':
      return `sku:${event.sku}`;
    case 'order.ship':
    case 'order.cancel':
      return `order:${event.marketplace}:${event.orderId}`;
    default: {
      const unreachable: never = event;
      throw new Error(`entityKeyOf: unhandled event ${JSON.stringify(unreachable)}`);
    }
  }
}

export function decodeOmsMessage(body: string, opts: OmsDecodeOptions = {}): OmsDecodeResult {
  try {
    return decode(body, opts.maxBytes ?? DEFAULT_MAX_OMS_MESSAGE_BYTES);
  } catch (err) {
    // Defensive: nothing below should throw, but a decoder that throws would stop the consumer.
    return { ok: false, reason: `could not decode: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function decode(body: string, maxBytes: number): OmsDecodeResult {
  if (typeof body !== 'string') return { ok: false, reason: `body must be a string, got ${describe(body)}` };
  const bytes = Buffer.byteLength(body, 'utf8');
  if (bytes > maxBytes) return { ok: false, reason: `body is ${bytes} bytes, limit ${maxBytes}` };

  let parsed: unknown;
  try {
    // A UTF-8 byte order mark (some Java producers write one) is not part of the JSON.
    parsed = JSON.parse(body.charCodeAt(0) === 0xfeff ? body.slice(1) : body);
  } catch (err) {
    return { ok: false, reason: `not JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { ok: false, reason: `body must be a JSON object, got ${describe(parsed)}` };
  }

  const raw = parsed as Record<string, unknown>;
  const id = typeof raw['id'] === 'string' && raw['id'] !== '' ? raw['id'] : undefined;
  const type = typeof raw['type'] === 'string' ? raw['type'] : undefined;
  const fail = (reason: string): OmsDecodeResult => ({
    ok: false,
    reason,
    ...(id !== undefined ? { id } : {}),
    ...(type !== undefined ? { type } : {}),
  });

  if (raw['type'] === undefined) return fail('type: required');
  if (type === undefined) return fail(`type: expected a string, got ${describe(raw['type'])}`);
  if (!isOmsEventType(type)) {
    return fail(`unknown type ${JSON.stringify(type)} (expected one of ${OMS_EVENT_TYPES.join(', ')})`);
  }

  const result = SCHEMAS[type].safeParse(raw);
  if (!result.success) return fail(formatIssues(result.error.issues));
  return { ok: true, event: dropUndefined(result.data) };
}

function isOmsEventType(type: string): type is OmsEventType {
  return (OMS_EVENT_TYPES as readonly string[]).includes(type);
}

const ISO_WITH_OFFSET =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/**
 * `YYYY-MM-DDThh:mm[:ss[.f…]]` then `Z` or `±hh:mm`, and a real calendar instant (Date.parse alone
 * accepts Feb 30). Seconds are optional because Java's OffsetDateTime omits `:00`.
 */
export function isIsoWithOffset(value: string): boolean {
  const m = ISO_WITH_OFFSET.exec(value);
  if (!m) return false;
  const [, y, mo, d, h, mi, s = '0', oh = '0', om = '0'] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1) return false;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return (
    day <= daysInMonth &&
    Number(h) <= 23 &&
    Number(mi) <= 59 &&
    Number(s) <= 59 &&
    Number(oh) <= 18 &&
    Number(om) <= 59 &&
    Number.isFinite(Date.parse(value))
  );
}

// ---------------------------------------------------------------------------------------------
// Field schemas. Messages are written for the person reading the backout row: the formatter
// prefixes the field path, so each message says what was expected and what came.

/** `price: expected a number, got string "₹1,299"`; a missing field reads `price: required`. */
function expected(what: string) {
  return (issue: { input?: unknown }) =>
    issue.input === undefined ? 'required' : `expected ${what}, got ${describe(issue.input)}`;
}

/** Non-empty after trimming. */
const text = z
  .string({ error: expected('a string') })
  .trim()
  .min(1, { error: 'must not be empty' });

const optionalText = text.nullish().transform((v) => v ?? undefined);

const sku = z
  .string({ error: expected('a string') })
  .trim()
  .min(1, { error: 'must not be empty' })
  .refine((s) => [...s].length <= MAX_SKU_LENGTH, {
    error: (issue) => `must be at most ${MAX_SKU_LENGTH} characters, got ${[...String(issue.input)].length}`,
  });

const timestamp = z.string({ error: expected('an ISO 8601 timestamp with offset') }).refine(isIsoWithOffset, {
  error: (issue) =>
    ISO_WITH_OFFSET.test(String(issue.input))
      ? `not a real date and time: ${describe(issue.input)}`
      : `ISO 8601 with offset required (e.g. 2026-11-20T09:00:15+05:30), got ${describe(issue.input)}`,
});

const money = z
  .number({ error: expected('a number') })
  .refine((n) => n > 0, { error: (issue) => `must be positive, got ${describe(issue.input)}`, abort: true })
  .refine((n) => Number(n.toFixed(2)) === n, {
    error: (issue) => `at most 2 decimals allowed, got ${describe(issue.input)}`,
  });

const quantity = z
  .number({ error: expected('a non-negative integer') })
  .refine((n) => Number.isSafeInteger(n) && n >= 0, {
    error: (issue) => `expected a non-negative integer, got ${describe(issue.input)}`,
  });

const lineQuantity = z
  .number({ error: expected('a positive integer') })
  .refine((n) => Number.isSafeInteger(n) && n > 0, {
    error: (issue) => `expected a positive integer, got ${describe(issue.input)}`,
  });

const marketplace = z.enum(MARKETPLACES, {
  error: (issue) =>
    issue.input === undefined
      ? 'required'
      : `expected one of ${MARKETPLACES.join(', ')}, got ${describe(issue.input)}`,
});

/** Duplicates are harmless and removed. */
const marketplaces = z
  .array(marketplace, { error: expected('an array of marketplaces') })
  .min(1, { error: `must not be empty (one or more of ${MARKETPLACES.join(', ')})` })
  .transform((list) => [...new Set(list)]);

const attributes = z.record(z.string(), z.unknown(), { error: expected('an object') });

const orderLines = z
  .array(z.object({ lineId: text, quantity: lineQuantity }, { error: expected('an object') }), {
    error: expected('an array of {lineId, quantity}'),
  })
  .min(1, { error: 'must not be empty' })
  .superRefine((lines, ctx) => {
    const seen = new Set<string>();
    for (const line of lines) {
      if (seen.has(line.lineId)) {
        ctx.addIssue({ code: 'custom', message: `duplicate lineId ${JSON.stringify(line.lineId)}` });
      }
      seen.add(line.lineId);
    }
  });

const base = {
  // The idempotency key is kept exactly as sent (not trimmed), but blank is no key.
  id: z
    .string({ error: expected('a string') })
    .refine((s) => s.trim() !== '', { error: 'must not be empty' }),
  occurredAt: timestamp,
};

function priceNotAboveMrp(event: { price: number; mrp: number }, ctx: z.RefinementCtx): void {
  if (event.price > event.mrp) {
    ctx.addIssue({ code: 'custom', path: [], message: `price ${event.price} exceeds mrp ${event.mrp}` });
  }
}

const productList = z
  .object({
    ...base,
    type: z.literal('product.list'),
    sku,
    marketplaces,
    title: text,
    brand: text,
    ean: text,
    productType: text,
    price: money,
    mrp: money,
    quantity,
    attributes,
  })
  .superRefine(priceNotAboveMrp);

const productUnlist = z.object({ ...base, type: z.literal('product.unlist'), sku, marketplaces });

const priceUpdate = z
  .object({
    ...base,
    type: z.literal('price.update'),
    sku,
    marketplaces: marketplaces.nullish().transform((v) => v ?? undefined),
    price: money,
    mrp: money,
  })
  .superRefine(priceNotAboveMrp);

const stockUpdate = z.object({
  ...base,
  type: z.literal('stock.update'),
  sku,
  quantity,
  locationId: optionalText,
});

const orderShip = z.object({
  ...base,
  type: z.literal('order.ship'),
  marketplace,
  orderId: text,
  lines: orderLines,
  carrier: text,
  trackingNumber: text,
  shippedAt: timestamp,
});

const orderCancel = z.object({
  ...base,
  type: z.literal('order.cancel'),
  marketplace,
  orderId: text,
  lines: orderLines.nullish().transform((v) => v ?? undefined),
  reason: text,
});

/** Each schema's output must be exactly the exported event type (checked by the compiler). */
const SCHEMAS: { [T in OmsEventType]: z.ZodType<Extract<OmsEvent, { type: T }>> } = {
  'product.list': productList,
  'product.unlist': productUnlist,
  'price.update': priceUpdate,
  'stock.update': stockUpdate,
  'order.ship': orderShip,
  'order.cancel': orderCancel,
};

// ---------------------------------------------------------------------------------------------

function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  const parts = issues.slice(0, 5).map((issue) => {
    const path = formatPath(issue.path);
    return path === '' ? issue.message : `${path}: ${issue.message}`;
  });
  if (issues.length > 5) parts.push(`and ${issues.length - 5} more`);
  return parts.join('; ');
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** `string "₹1,299"`, `null`, `array`, `2.5`: enough to recognise the value, never the whole body. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'string': {
      const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
      return `string ${JSON.stringify(shown)}`;
    }
    case 'number':
    case 'boolean':
      return String(value);
    case 'undefined':
      return 'nothing';
    default:
      return typeof value;
  }
}

/** `null` optional fields come out of the schemas as `undefined`; drop the keys. */
function dropUndefined<T extends object>(event: T): T {
  for (const key of Object.keys(event) as (keyof T)[]) {
    if (event[key] === undefined) delete event[key];
  }
  return event;
}
