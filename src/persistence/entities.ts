import { EntitySchema } from '@mikro-orm/core';

/**
 * Entities for reading the tables through the ORM (ops, admin, tests). Hot paths write with
 * set-based SQL in the repositories; the schema itself comes from the migrations.
 */
export interface EventLogRow {
  id: string;
  idempotencyKey: string;
  source: string;
  type: string;
  entityKey: string | null;
  payload: unknown;
  occurredAt: Date | null;
  receivedAt: Date;
  status: 'accepted' | 'rejected' | 'duplicate';
  reason: string | null;
  messageId: string | null;
}

export const EventLog = new EntitySchema<EventLogRow>({
  name: 'EventLog',
  tableName: 'event_log',
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    idempotencyKey: { type: 'text' },
    source: { type: 'text' },
    type: { type: 'text' },
    entityKey: { type: 'text', nullable: true },
    payload: { type: 'json', nullable: true },
    occurredAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    receivedAt: { type: 'Date', columnType: 'timestamptz' },
    status: { type: 'text' },
    reason: { type: 'text', nullable: true },
    messageId: { type: 'text', nullable: true },
  },
});

export interface ActorSnapshotRow {
  actorKey: string;
  machine: string;
  machineVersion: number;
  state: string;
  snapshot: unknown;
  lastEventId: string;
  version: number;
  updatedAt: Date;
}

export const ActorSnapshot = new EntitySchema<ActorSnapshotRow>({
  name: 'ActorSnapshot',
  tableName: 'actor_snapshot',
  properties: {
    actorKey: { type: 'text', primary: true },
    machine: { type: 'text' },
    machineVersion: { type: 'integer' },
    state: { type: 'text' },
    snapshot: { type: 'json' },
    lastEventId: { type: 'bigint' },
    version: { type: 'integer' },
    updatedAt: { type: 'Date', columnType: 'timestamptz' },
  },
});

export interface ListingRow {
  id: string;
  sku: string;
  marketplace: string;
  state: string;
  desiredPrice: string | null;
  confirmedPrice: string | null;
  mrp: string | null;
  desiredQuantity: number | null;
  confirmedQuantity: number | null;
  lastError: string | null;
  issues: unknown;
  coalescedUpdates: number;
  lastEventId: string;
  updatedAt: Date;
}

export const Listing = new EntitySchema<ListingRow>({
  name: 'Listing',
  tableName: 'listing',
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    sku: { type: 'text' },
    marketplace: { type: 'text' },
    state: { type: 'text' },
    desiredPrice: { type: 'decimal', columnType: 'numeric(12,2)', nullable: true },
    confirmedPrice: { type: 'decimal', columnType: 'numeric(12,2)', nullable: true },
    mrp: { type: 'decimal', columnType: 'numeric(12,2)', nullable: true },
    desiredQuantity: { type: 'integer', nullable: true },
    confirmedQuantity: { type: 'integer', nullable: true },
    lastError: { type: 'text', nullable: true },
    issues: { type: 'json', nullable: true },
    coalescedUpdates: { type: 'integer' },
    lastEventId: { type: 'bigint' },
    updatedAt: { type: 'Date', columnType: 'timestamptz' },
  },
  uniques: [{ properties: ['sku', 'marketplace'] }],
});

export interface MarketplaceCallRow {
  id: string;
  marketplace: string;
  operation: string;
  entityKey: string | null;
  httpStatus: number | null;
  throttled: boolean;
  startedAt: Date;
  durationMs: number;
  attempt: number;
  error: string | null;
}

export const MarketplaceCall = new EntitySchema<MarketplaceCallRow>({
  name: 'MarketplaceCall',
  tableName: 'marketplace_call',
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    marketplace: { type: 'text' },
    operation: { type: 'text' },
    entityKey: { type: 'text', nullable: true },
    httpStatus: { type: 'integer', nullable: true },
    throttled: { type: 'boolean' },
    startedAt: { type: 'Date', columnType: 'timestamptz' },
    durationMs: { type: 'integer' },
    attempt: { type: 'integer' },
    error: { type: 'text', nullable: true },
  },
});

export interface BackoutMessageRow {
  id: string;
  queue: string;
  originalQueue: string;
  body: string;
  properties: unknown;
  reason: string;
  createdAt: Date;
}

export const BackoutMessage = new EntitySchema<BackoutMessageRow>({
  name: 'BackoutMessage',
  tableName: 'backout_message',
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    queue: { type: 'text' },
    originalQueue: { type: 'text' },
    body: { type: 'text' },
    properties: { type: 'json' },
    reason: { type: 'text' },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
  },
});

export const ALL_ENTITIES = [EventLog, ActorSnapshot, Listing, MarketplaceCall, BackoutMessage];
