/**
 * Inbound OMS messages (DESIGN §2): decoding and validation.
 *
 * `decodeOmsMessage` is the only door from a queue body to an `OmsEvent`. It never throws: a bad
 * body is an answer (`ok: false` with a reason a person can act on), because bad input must go to
 * the backout queue and never stop the consumer. Unknown extra fields are tolerated and dropped
 * (the OMS may add fields); `null` in an optional field means absent.
 *
 * Whatever is accepted must be storable as is: PostgreSQL (`text`, `jsonb`, `timestamptz`) and
 * `JSON.stringify` refuse some values JSON.parse lets through, and such a value must be rejected
 * here with a reason rather than fail later in the database. Hence:
 * - the body must be well-formed text: no NUL (a UTF-16 body read as UTF-8 is full of them) and no
 *   lone UTF-16 surrogate; and no string in it (keys included, unknown fields included) may contain
 *   an escaped `\u0000` or a lone surrogate (`"\ud800"`);
 * - timestamps are years 0001–9999 with an offset of at most ±14:00; leap seconds are refused;
 * - with `now`, an `occurredAt` more than `maxFutureMs` ahead is refused (it would make every later,
 *   real update look older and freeze the listing);
 * - numbers, ids, SKUs and `attributes` have upper bounds (see the MAX_ constants);
 * - every `reason` is well-formed, NUL-free and at most MAX_REASON_LENGTH characters (`safeText`).
 *
 * Duplicate keys: `{"price":1,"price":2}` is accepted with the last value (JSON.parse keeps the
 * last one; RFC 8259 leaves it to the parser). This is deliberate, not an oversight.
 */
import { z } from 'zod';
import { storableText } from '../core/text.js';
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
/** In characters (code points): the idempotency key column. */
export const MAX_ID_LENGTH = 200;
/** Stock and line quantities. */
export const MAX_QUANTITY = 1_000_000;
/** `price` and `mrp`, INR. */
export const MAX_PRICE_INR = 1_000_000_000;
/** `attributes` itself is level 1; `{"a":{"b":1}}` is 2 levels. Arrays count as levels. */
export const MAX_ATTRIBUTES_DEPTH = 8;
/** Object keys in `attributes`, counted at every level. */
export const MAX_ATTRIBUTES_KEYS = 200;
/** Default for `OmsDecodeOptions.maxFutureMs`: one hour. */
export const DEFAULT_MAX_FUTURE_MS = 60 * 60 * 1000;
/** Every rejection reason is at most this many characters. */
export const MAX_REASON_LENGTH = 300;
/** Largest UTC offset accepted, in minutes (±14:00, the real-world range). */
const MAX_OFFSET_MINUTES = 14 * 60;

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
  /**
   * The current time (epoch ms, the clock's now). When given, an `occurredAt` more than
   * `maxFutureMs` after it is rejected. Not given: no check.
   */
  now?: number;
  /** How far ahead of `now` an `occurredAt` may be. Default 1 hour. */
  maxFutureMs?: number;
  /**
   * The idempotency key when the body has no `id` (IBM MQ: the MsgId). Without it, a body without
   * `id` is rejected.
   */
  fallbackId?: string;
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

/** Text safe to store and show (see src/core/text.ts). */
export const safeText = storableText;

export function decodeOmsMessage(body: string, opts: OmsDecodeOptions = {}): OmsDecodeResult {
  let result: OmsDecodeResult;
  try {
    result = decode(body, opts);
  } catch (err) {
    // Defensive: nothing below should throw, but a decoder that throws would stop the consumer.
    result = { ok: false, reason: `could not decode: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (result.ok) return result;
  return { ...result, reason: safeText(result.reason, MAX_REASON_LENGTH) };
}

function decode(body: string, opts: OmsDecodeOptions): OmsDecodeResult {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_OMS_MESSAGE_BYTES;
  if (typeof body !== 'string') return { ok: false, reason: `body must be a string, got ${describe(body)}` };
  const nul = body.indexOf('\u0000');
  if (nul !== -1) {
    return {
      ok: false,
      reason: `body contains NUL characters (UTF-16 sent as UTF-8?), first at character ${nul}`,
    };
  }
  const lone = LONE_SURROGATE.exec(body);
  if (lone) {
    return {
      ok: false,
      reason: `body is not well-formed text: lone UTF-16 surrogate ${codePoint(lone[0])} at character ${lone.index}`,
    };
  }
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

  const raw =
    (parsed as Record<string, unknown>)['id'] === undefined && opts.fallbackId !== undefined
      ? { ...(parsed as Record<string, unknown>), id: opts.fallbackId }
      : (parsed as Record<string, unknown>);
  // Echoed on rejection only when safe to store as a key (the caller falls back to the message id).
  const rawId = raw['id'];
  const id =
    typeof rawId === 'string' && rawId.trim() !== '' && idProblem(rawId) === undefined ? rawId : undefined;
  const rawType = raw['type'];
  const type = typeof rawType === 'string' && isStorableLabel(rawType) ? rawType : undefined;
  const fail = (reason: string): OmsDecodeResult => ({
    ok: false,
    reason,
    ...(id !== undefined ? { id } : {}),
    ...(type !== undefined ? { type } : {}),
  });

  const badString = findUnstorableString(raw);
  if (badString !== undefined) return fail(badString);

  if (rawType === undefined) return fail('type: required');
  if (typeof rawType !== 'string') return fail(`type: expected a string, got ${describe(rawType)}`);
  if (!isOmsEventType(rawType)) {
    const shown = JSON.stringify(rawType.length > 61 ? safeText(rawType, 61) : rawType);
    return fail(`unknown type ${shown} (expected one of ${OMS_EVENT_TYPES.join(', ')})`);
  }

  const result = SCHEMAS[rawType].safeParse(raw);
  if (!result.success) return fail(formatIssues(result.error.issues));
  const event = dropUndefined(result.data);

  if (opts.now !== undefined) {
    const maxFutureMs = opts.maxFutureMs ?? DEFAULT_MAX_FUTURE_MS;
    const occurred = Date.parse(event.occurredAt);
    if (occurred - opts.now > maxFutureMs) {
      return fail(
        `occurredAt: ${event.occurredAt} is more than ${formatDuration(maxFutureMs)} after now ` +
          `(${new Date(opts.now).toISOString()}); a clock or data error upstream?`,
      );
    }
  }
  return { ok: true, event };
}

// ---------------------------------------------------------------------------------------------
// Text the database can store.

const LONE_SURROGATE = /\p{Cs}/u;
const CONTROL = /\p{Cc}/u;
/** LRE, RLE, PDF, LRO, RLO and LRI, RLI, FSI, PDI: they reorder how a SKU is displayed. */
const BIDI_CONTROL = /[\u202A-\u202E\u2066-\u2069]/u;
const FORMAT = /\p{Cf}/gu;

/** `U+000A` */
function codePoint(ch: string): string {
  return `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Why PostgreSQL would refuse this string (NUL, lone surrogate), or undefined. */
function unstorable(s: string): string | undefined {
  if (s.includes('\u0000')) return 'contains a NUL character (U+0000)';
  const lone = LONE_SURROGATE.exec(s);
  if (lone) return `contains a lone UTF-16 surrogate (${codePoint(lone[0])})`;
  return undefined;
}

/**
 * The first string (value or key, at any depth, unknown fields included) that cannot be stored,
 * as `path: problem`. Iterative: a deeply nested body must not overflow the stack here.
 */
function findUnstorableString(root: unknown): string | undefined {
  interface Node {
    value: unknown;
    key: string | number | undefined;
    parent: Node | undefined;
  }
  const at = (node: Node, problem: string): string => {
    const path: (string | number)[] = [];
    for (let n: Node | undefined = node; n?.key !== undefined; n = n.parent) path.push(n.key);
    const shown = formatPath(path.reverse());
    return shown === '' ? problem : `${shown}: ${problem}`;
  };
  const stack: Node[] = [{ value: root, key: undefined, parent: undefined }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const value = node.value;
    if (typeof value === 'string') {
      const problem = unstorable(value);
      if (problem !== undefined) return at(node, problem);
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], key: i, parent: node });
    } else if (value !== null && typeof value === 'object') {
      const keys = Object.keys(value);
      for (const key of keys) {
        const problem = unstorable(key);
        if (problem !== undefined) return at(node, `key ${JSON.stringify(key)} ${problem}`);
      }
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!;
        stack.push({ value: (value as Record<string, unknown>)[key], key, parent: node });
      }
    }
  }
  return undefined;
}

/** A short label (an unknown `type`) fit to store and echo. */
function isStorableLabel(s: string): boolean {
  return s.length <= 100 && unstorable(s) === undefined && !CONTROL.test(s);
}

function idProblem(id: string): string | undefined {
  const length = [...id].length;
  if (length > MAX_ID_LENGTH) return `must be at most ${MAX_ID_LENGTH} characters, got ${length}`;
  const control = CONTROL.exec(id);
  if (control) return `must not contain control characters, got ${codePoint(control[0])}`;
  return undefined;
}

/** `1 hour`, `90 minutes`, `1500 ms`. */
function formatDuration(ms: number): string {
  if (ms > 0 && ms % 3_600_000 === 0) return ms === 3_600_000 ? '1 hour' : `${ms / 3_600_000} hours`;
  if (ms > 0 && ms % 60_000 === 0) return ms === 60_000 ? '1 minute' : `${ms / 60_000} minutes`;
  return `${ms} ms`;
}

function isOmsEventType(type: string): type is OmsEventType {
  return (OMS_EVENT_TYPES as readonly string[]).includes(type);
}

const ISO_WITH_OFFSET =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/**
 * `YYYY-MM-DDThh:mm[:ss[.f…]]` then `Z` or `±hh:mm`, and a real calendar instant (Date.parse alone
 * accepts Feb 30) that PostgreSQL's timestamptz can hold: year 0001–9999, offset at most ±14:00,
 * no leap second. Seconds are optional because Java's OffsetDateTime omits `:00`.
 */
export function isIsoWithOffset(value: string): boolean {
  return typeof value === 'string' && timestampProblem(value) === undefined;
}

/** Why `value` is not an accepted timestamp, or undefined. */
function timestampProblem(value: string): string | undefined {
  const m = ISO_WITH_OFFSET.exec(value);
  if (!m) return `ISO 8601 with offset required (e.g. 2026-11-20T09:00:15+05:30), got ${describe(value)}`;
  const [, y, mo, d, h, mi, s = '0', oh = '0', om = '0'] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  const sign = value.endsWith('Z') || value.charAt(value.length - 6) === '+' ? 1 : -1;
  const offset = sign * (Number(oh) * 60 + Number(om));
  if (year < 1) return `year must be 0001 to 9999, got ${describe(value)}`;
  if (Number(om) > 59 || Math.abs(offset) > MAX_OFFSET_MINUTES) {
    return `offset must be at most ±14:00, got ${describe(value)}`;
  }
  if (second === 60 && hour <= 23 && minute <= 59) {
    // 23:59:60 UTC (e.g. 05:29:60+05:30) is a real leap second, which PostgreSQL and JS cannot hold.
    const utcMinute = (((hour * 60 + minute - offset) % 1440) + 1440) % 1440;
    if (utcMinute === 1439) return `leap second not supported, got ${describe(value)}`;
  }
  if (
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth(year, month) ||
    hour > 23 ||
    minute > 59 ||
    second > 59 ||
    !Number.isFinite(Date.parse(value))
  ) {
    return `not a real date and time: ${describe(value)}`;
  }
  return undefined;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
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
  .refine((s) => !CONTROL.test(s), {
    error: (issue) =>
      `must not contain control characters, got ${codePoint(CONTROL.exec(String(issue.input))?.[0] ?? '')}`,
    abort: true,
  })
  .refine((s) => !BIDI_CONTROL.test(s), {
    error: (issue) =>
      `must not contain bidirectional control characters, got ${codePoint(BIDI_CONTROL.exec(String(issue.input))?.[0] ?? '')}`,
    abort: true,
  })
  .trim()
  .min(1, { error: 'must not be empty', abort: true })
  // Zero-width and other invisible format characters alone do not make a SKU.
  .refine((s) => s.replace(FORMAT, '').trim() !== '', {
    error: 'must not be empty (only invisible characters)',
    abort: true,
  })
  .refine((s) => [...s].length <= MAX_SKU_LENGTH, {
    error: (issue) => `must be at most ${MAX_SKU_LENGTH} characters, got ${[...String(issue.input)].length}`,
  });

const timestamp = z
  .string({ error: expected('an ISO 8601 timestamp with offset') })
  .superRefine((value, ctx) => {
    const problem = timestampProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

/**
 * Positive, at most MAX_PRICE_INR, and at most 2 decimals. Below the bound a double keeps 2 decimals
 * exactly, so "the shortest decimal that reads back as this number has at most 2 decimals" is the
 * rule itself, not a rounding of it (above it, `12345678901234567.89` would read back as an integer).
 */
const money = z
  .number({ error: expected('a number') })
  .refine((n) => n > 0, { error: (issue) => `must be positive, got ${describe(issue.input)}`, abort: true })
  .refine((n) => n <= MAX_PRICE_INR, {
    error: (issue) => `must be at most ${MAX_PRICE_INR}, got ${describe(issue.input)}`,
    abort: true,
  })
  .refine((n) => /^\d+(?:\.\d{1,2})?$/.test(String(n)), {
    error: (issue) => `at most 2 decimals allowed, got ${describe(issue.input)}`,
  });

const quantity = z
  .number({ error: expected('a non-negative integer') })
  .refine((n) => Number.isSafeInteger(n) && n >= 0, {
    error: (issue) => `expected a non-negative integer, got ${describe(issue.input)}`,
    abort: true,
  })
  .refine((n) => n <= MAX_QUANTITY, {
    error: (issue) => `must be at most ${MAX_QUANTITY}, got ${describe(issue.input)}`,
  });

const lineQuantity = z
  .number({ error: expected('a positive integer') })
  .refine((n) => Number.isSafeInteger(n) && n > 0, {
    error: (issue) => `expected a positive integer, got ${describe(issue.input)}`,
    abort: true,
  })
  .refine((n) => n <= MAX_QUANTITY, {
    error: (issue) => `must be at most ${MAX_QUANTITY}, got ${describe(issue.input)}`,
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

const attributes = z
  .record(z.string(), z.unknown(), { error: expected('an object') })
  .superRefine((value, ctx) => {
    const problem = attributesProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

/**
 * Depth and key-count bounds (JSON.stringify recurses: a 5000-deep object overflows its stack
 * later). Iterative, so it cannot overflow here. Size is bounded by the body's maxBytes.
 */
function attributesProblem(root: Record<string, unknown>): string | undefined {
  let keys = 0;
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_ATTRIBUTES_DEPTH) return `nested more than ${MAX_ATTRIBUTES_DEPTH} levels deep`;
    if (Array.isArray(value)) {
      for (const item of value) stack.push([item, depth + 1]);
    } else {
      const entries = Object.values(value);
      keys += entries.length;
      if (keys > MAX_ATTRIBUTES_KEYS) return `more than ${MAX_ATTRIBUTES_KEYS} keys in total`;
      for (const item of entries) stack.push([item, depth + 1]);
    }
  }
  return undefined;
}

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
    .refine((s) => s.trim() !== '', { error: 'must not be empty', abort: true })
    .superRefine((s, ctx) => {
      const problem = idProblem(s);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    }),
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
      // JSON.stringify escapes NUL, controls and lone surrogates; cut at a code-point boundary.
      return `string ${JSON.stringify(value.length > 41 ? safeText(value, 41) : value)}`;
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
