/**
 * What the order machine asks of Amazon (OrderActions):
 *  - ship: Orders v0 confirmShipment (carrierCode mandatory on amazon.in, §1.9). 204 → done; a 400
 *    (missing carrier code, "Invalid Input", cancelled order) → refused with Amazon's message (F20);
 *    429/5xx → RetryableError from the client.
 *  - cancel: the XML order acknowledgement feed POST_ORDER_ACKNOWLEDGEMENT_DATA with StatusCode
 *    Failure and per-item CancelReason (§1.8): createFeedDocument → upload → createFeed, then getFeed
 *    every `feedPollIntervalMs` until DONE, and the XML processing report decides done / refused.
 *  - get: Orders 2026-01-01 getOrder.
 */
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { RetryableError, TerminalError } from '../../core/errors.js';
import type { MarketplaceId } from '../../domain/types.js';
import type {
  CancelRequest,
  MarketplaceOrder,
  OrderActionResult,
  OrderActions,
  ShipRequest,
} from '../orders.js';
import type { CallOptions } from '../types.js';
import { AMAZON_ERROR_CODES, type AmazonCallOptions } from './client.js';
import type { AmazonFeedsClient, Feed } from './feeds.js';
import {
  type AmazonOrder,
  type ConfirmShipmentRequest,
  type ConfirmShipmentResult,
  type OrdersIncludedData,
  toMarketplaceOrder,
} from './orders.js';

export const ORDER_ACKNOWLEDGEMENT_FEED = 'POST_ORDER_ACKNOWLEDGEMENT_DATA';
export const ORDER_ACKNOWLEDGEMENT_CONTENT_TYPE = 'text/xml; charset=UTF-8';

/** CancelReason values of the OrderAcknowledgement XSD (§1.8). */
export const AMAZON_CANCEL_REASONS = [
  'NoInventory',
  'ShippingAddressUndeliverable',
  'CustomerExchange',
  'BuyerCanceled',
  'GeneralAdjustment',
  'CarrierCreditDecision',
  'RiskAssessmentInformationNotValid',
  'CarrierCoverageFailure',
  'CustomerReturn',
  'MerchandiseNotReceived',
] as const;
export type AmazonCancelReason = (typeof AMAZON_CANCEL_REASONS)[number];

/**
 * Common Indian carriers by normalised name (lower case, letters and digits only) → Amazon
 * carrierCode. [ASSUMED spellings of Amazon's carrier code list; extend/override with the
 * `carrierCodes` option.] Anything else is sent as carrierCode 'Other' with the carrierName.
 */
export const AMAZON_IN_CARRIER_CODES: Readonly<Record<string, string>> = {
  bluedart: 'Blue Dart',
  delhivery: 'Delhivery',
  dtdc: 'DTDC',
  ecomexpress: 'Ecom Express',
  ecom: 'Ecom Express',
  indiapost: 'India Post',
  speedpost: 'India Post',
  xpressbees: 'Xpressbees',
  gati: 'Gati',
  professionalcouriers: 'Professional Couriers',
  fedex: 'FedEx',
  dhl: 'DHL',
  aramex: 'Aramex',
  amazonshipping: 'Amazon Shipping',
  atsamazonshipping: 'Amazon Shipping',
};

function carrierKey(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** carrierCode (+ carrierName for 'Other'); nothing at all when the OMS gave no carrier. */
export function amazonCarrier(
  carrier: string,
  extra: Readonly<Record<string, string>> = {},
): { carrierCode?: string; carrierName?: string } {
  const name = carrier.trim();
  if (name === '') return {};
  const key = carrierKey(name);
  const extraCode = Object.entries(extra).find(([k]) => carrierKey(k) === key)?.[1];
  const code = extraCode ?? AMAZON_IN_CARRIER_CODES[key];
  return code !== undefined && code !== 'Other'
    ? { carrierCode: code }
    : { carrierCode: 'Other', carrierName: name };
}

/** The OMS reason text → CancelReason: 'buyer' → BuyerCanceled, an XSD value as is, else NoInventory. */
export function amazonCancelReason(reason: string): AmazonCancelReason {
  const r = reason.trim();
  const exact = AMAZON_CANCEL_REASONS.find((c) => c.toLowerCase() === r.toLowerCase());
  if (exact) return exact;
  const k = r.toLowerCase();
  if (k === 'buyer' || k.includes('buyer') || k.includes('customer request')) return 'BuyerCanceled';
  if (k.includes('undeliverable') || k.includes('address')) return 'ShippingAddressUndeliverable';
  return 'NoInventory';
}

// Feed document ---------------------------------------------------------------------------------

export interface OrderAcknowledgementInput {
  orderId: string;
  /** Items to cancel; empty: the whole order. */
  items: { orderItemId: string; reason: AmazonCancelReason }[];
  /** Used for the order-level cancel (no items). Default NoInventory. */
  reason?: AmazonCancelReason;
}

function xmlEscape(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function xmlUnescape(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&#x([0-9a-fA-F]+);/g, (_, h: string) => String.fromCodePoint(Number.parseInt(h, 16)))
    .replace(/&amp;/g, '&');
}

/** The OrderAcknowledgement XML feed: one message per order, StatusCode Failure (= cancel). */
export function buildOrderAcknowledgementFeed(
  merchantId: string,
  orders: readonly OrderAcknowledgementInput[],
): string {
  if (orders.length === 0) throw new TerminalError('buildOrderAcknowledgementFeed: no orders');
  const messages = orders.map((o, i) => {
    const items =
      o.items.length > 0
        ? o.items
            .map(
              (it) =>
                `<Item><AmazonOrderItemCode>${xmlEscape(it.orderItemId)}</AmazonOrderItemCode>` +
                `<CancelReason>${it.reason}</CancelReason></Item>`,
            )
            .join('')
        : '';
    return (
      `<Message><MessageID>${i + 1}</MessageID><OrderAcknowledgement>` +
      `<AmazonOrderID>${xmlEscape(o.orderId)}</AmazonOrderID><StatusCode>Failure</StatusCode>` +
      `${items}</OrderAcknowledgement></Message>`
    );
  });
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="amzn-envelope.xsd">' +
    `<Header><DocumentVersion>1.01</DocumentVersion><MerchantIdentifier>${xmlEscape(merchantId)}</MerchantIdentifier></Header>` +
    `<MessageType>OrderAcknowledgement</MessageType>${messages.join('')}</AmazonEnvelope>\n`
  );
}

// XML processing report -------------------------------------------------------------------------

export interface XmlProcessingResult {
  messageId?: number;
  /** Error | Warning */
  resultCode: string;
  messageCode: string;
  description: string;
  orderId?: string;
}

export interface XmlProcessingReport {
  statusCode?: string;
  messagesProcessed: number;
  messagesSuccessful: number;
  messagesWithError: number;
  messagesWithWarning: number;
  results: XmlProcessingResult[];
}

function tag(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${name}>`).exec(xml);
  return m ? xmlUnescape(m[1]!.trim()) : undefined;
}

function count(xml: string, name: string): number {
  const v = tag(xml, name);
  const n = v === undefined ? 0 : Number(v);
  return Number.isFinite(n) ? n : 0;
}

/** The legacy XML ProcessingReport (summary + per-message results); throws when it is not one. */
export function parseXmlProcessingReport(xml: string): XmlProcessingReport {
  const report = tag(xml, 'ProcessingReport');
  if (report === undefined) {
    throw new TerminalError('processing report is not an XML ProcessingReport', {
      code: AMAZON_ERROR_CODES.unexpectedResponse,
    });
  }
  const raw = /<ProcessingReport(?:\s[^>]*)?>([\s\S]*?)<\/ProcessingReport>/.exec(xml)?.[1] ?? '';
  const results: XmlProcessingResult[] = [];
  for (const m of raw.matchAll(/<Result>([\s\S]*?)<\/Result>/g)) {
    const r = m[1]!;
    const out: XmlProcessingResult = {
      resultCode: tag(r, 'ResultCode') ?? '',
      messageCode: tag(r, 'ResultMessageCode') ?? '',
      description: tag(r, 'ResultDescription') ?? '',
    };
    const id = tag(r, 'MessageID');
    if (id !== undefined && /^\d+$/.test(id)) out.messageId = Number(id);
    const orderId = tag(r, 'AmazonOrderID');
    if (orderId !== undefined) out.orderId = orderId;
    results.push(out);
  }
  const statusCode = tag(raw, 'StatusCode');
  return {
    ...(statusCode === undefined ? {} : { statusCode }),
    messagesProcessed: count(raw, 'MessagesProcessed'),
    messagesSuccessful: count(raw, 'MessagesSuccessful'),
    messagesWithError: count(raw, 'MessagesWithError'),
    messagesWithWarning: count(raw, 'MessagesWithWarning'),
    results,
  };
}

// Actions ---------------------------------------------------------------------------------------

/** What the actions need of the orders client (the client, or a fake in tests). */
export interface OrderActionsApi {
  readonly marketplaceId: string;
  getOrder(
    orderId: string,
    includedData?: readonly OrdersIncludedData[],
    opts?: AmazonCallOptions,
  ): Promise<AmazonOrder | null>;
  confirmShipment(
    orderId: string,
    body: ConfirmShipmentRequest,
    opts?: AmazonCallOptions,
  ): Promise<ConfirmShipmentResult>;
}

export type OrderFeedsApi = Pick<
  AmazonFeedsClient,
  | 'createFeedDocument'
  | 'uploadFeedDocument'
  | 'createFeed'
  | 'getFeed'
  | 'getFeedDocument'
  | 'downloadFeedDocument'
>;

export interface AmazonOrderActionsOptions {
  orders: OrderActionsApi;
  feeds: OrderFeedsApi;
  /** Merchant token (MerchantIdentifier of the feed). */
  sellerId: string;
  clock?: Clock;
  /** Between getFeed calls while the acknowledgement feed runs. Default 15 s. */
  feedPollIntervalMs?: number;
  /** Give up waiting (RetryableError; get() tells later whether it was cancelled). Default 15 min. */
  feedTimeoutMs?: number;
  /** Extra carrier name → Amazon carrierCode mappings (win over AMAZON_IN_CARRIER_CODES). */
  carrierCodes?: Record<string, string>;
  includedData?: readonly OrdersIncludedData[];
}

export class AmazonOrderActions implements OrderActions {
  readonly marketplace: MarketplaceId = 'amazon';
  private readonly clock: Clock;
  private readonly pollMs: number;
  private readonly timeoutMs: number;

  constructor(private readonly opts: AmazonOrderActionsOptions) {
    this.clock = opts.clock ?? systemClock;
    this.pollMs = opts.feedPollIntervalMs ?? 15_000;
    this.timeoutMs = opts.feedTimeoutMs ?? 15 * 60_000;
  }

  async ship(req: ShipRequest, opts: CallOptions = {}): Promise<OrderActionResult> {
    const lines = req.lines.length > 0 ? req.lines : req.order.lines;
    const body: ConfirmShipmentRequest = {
      marketplaceId: this.opts.orders.marketplaceId,
      packageDetail: {
        packageReferenceId: '1',
        ...amazonCarrier(req.carrier, this.opts.carrierCodes),
        trackingNumber: req.trackingNumber,
        shipDate: new Date(req.shippedAt).toISOString(),
        orderItems: lines.map((l) => ({ orderItemId: l.lineId, quantity: l.quantity })),
      },
    };
    return this.opts.orders.confirmShipment(req.orderId, body, {
      priority: opts.priority ?? 'urgent',
      signal: opts.signal,
    });
  }

  async cancel(req: CancelRequest, opts: CallOptions = {}): Promise<OrderActionResult> {
    const reason = amazonCancelReason(req.reason);
    const lines = req.lines ?? req.order.lines;
    const xml = buildOrderAcknowledgementFeed(this.opts.sellerId, [
      { orderId: req.orderId, items: lines.map((l) => ({ orderItemId: l.lineId, reason })), reason },
    ]);
    const call: AmazonCallOptions = { priority: opts.priority ?? 'urgent', signal: opts.signal };
    const feeds = this.opts.feeds;
    const { feedDocumentId, url } = await feeds.createFeedDocument(ORDER_ACKNOWLEDGEMENT_CONTENT_TYPE, call);
    await feeds.uploadFeedDocument(url, xml, ORDER_ACKNOWLEDGEMENT_CONTENT_TYPE, call);
    const { feedId } = await feeds.createFeed(
      {
        feedType: ORDER_ACKNOWLEDGEMENT_FEED,
        marketplaceIds: [this.opts.orders.marketplaceId],
        inputFeedDocumentId: feedDocumentId,
      },
      call,
    );
    const feed = await this.waitForFeed(feedId, call);
    if (feed.processingStatus !== 'DONE') {
      throw new TerminalError(
        `cancel ${req.orderId}: acknowledgement feed ${feedId} ended ${feed.processingStatus}`,
        { code: AMAZON_ERROR_CODES.badRequest },
      );
    }
    if (feed.resultFeedDocumentId === undefined) {
      throw new TerminalError(`cancel ${req.orderId}: feed ${feedId} is DONE without a processing report`, {
        code: AMAZON_ERROR_CODES.unexpectedResponse,
      });
    }
    const doc = await feeds.getFeedDocument(feed.resultFeedDocumentId, call);
    const bytes = await feeds.downloadFeedDocument(doc.url, doc.compressionAlgorithm, call);
    const report = parseXmlProcessingReport(bytes.toString('utf8'));
    const error = report.results.find((r) => r.resultCode === 'Error');
    if (error || report.messagesWithError > 0) {
      return {
        status: 'refused',
        code: error?.messageCode || 'FEED_ERROR',
        reason:
          error?.description ||
          `acknowledgement feed ${feedId}: ${report.messagesWithError} message(s) with error`,
      };
    }
    return { status: 'done' };
  }

  async get(orderId: string, opts: CallOptions = {}): Promise<MarketplaceOrder | null> {
    const order = await this.opts.orders.getOrder(orderId, this.opts.includedData, {
      priority: opts.priority ?? 'read',
      signal: opts.signal,
    });
    return order === null ? null : toMarketplaceOrder(order);
  }

  private async waitForFeed(feedId: string, call: AmazonCallOptions): Promise<Feed> {
    const deadline = this.clock.now() + this.timeoutMs;
    for (;;) {
      const feed = await this.opts.feeds.getFeed(feedId, call);
      if (
        feed.processingStatus === 'DONE' ||
        feed.processingStatus === 'FATAL' ||
        feed.processingStatus === 'CANCELLED'
      ) {
        return feed;
      }
      if (this.clock.now() + this.pollMs > deadline) {
        throw new RetryableError(
          `acknowledgement feed ${feedId} still ${feed.processingStatus} after ${this.timeoutMs} ms`,
        );
      }
      await this.clock.sleep(this.pollMs, call.signal);
    }
  }
}
