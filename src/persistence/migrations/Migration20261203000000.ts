import { Migration } from '@mikro-orm/migrations';

/** The first schema: event log, actor inbox and snapshots, listing read model, call audit, queue. */
export class Migration20261203000000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table event_log (
        id bigserial primary key,
        idempotency_key text not null,
        source text not null,
        type text not null,
        entity_key text null,
        payload jsonb null,
        occurred_at timestamptz null,
        received_at timestamptz not null default now(),
        status text not null check (status in ('accepted', 'rejected', 'duplicate')),
        reason text null,
        message_id text null
      );`);
    // One accepted row per idempotency key; rejected deliveries and duplicates are kept as
    // separate rows so the back office can see every redelivery and why a message was refused.
    this.addSql(
      `create unique index event_log_idempotency_key_accepted on event_log (idempotency_key) where status = 'accepted';`,
    );
    this.addSql(`create index event_log_entity_key on event_log (entity_key, id);`);
    this.addSql(`create index event_log_received_at on event_log (received_at);`);

    this.addSql(`
      create table actor_inbox (
        actor_key text not null,
        event_id bigint not null references event_log (id),
        event jsonb not null,
        created_at timestamptz not null default now(),
        primary key (actor_key, event_id)
      );`);
    this.addSql(`create index actor_inbox_event_id on actor_inbox (event_id);`);

    this.addSql(`
      create table actor_snapshot (
        actor_key text primary key,
        machine text not null,
        machine_version int not null,
        state text not null,
        snapshot jsonb not null,
        last_event_id bigint not null default 0,
        version int not null default 1,
        updated_at timestamptz not null default now()
      );`);
    this.addSql(`create index actor_snapshot_machine_state on actor_snapshot (machine, state);`);

    this.addSql(`
      create table listing (
        id bigserial primary key,
        sku text not null,
        marketplace text not null,
        state text not null,
        desired_price numeric(12, 2) null,
        confirmed_price numeric(12, 2) null,
        mrp numeric(12, 2) null,
        desired_quantity int null,
        confirmed_quantity int null,
        last_error text null,
        issues jsonb null,
        coalesced_updates int not null default 0,
        last_event_id bigint not null default 0,
        updated_at timestamptz not null default now(),
        constraint listing_sku_marketplace_unique unique (sku, marketplace)
      );`);
    this.addSql(`create index listing_marketplace_state on listing (marketplace, state);`);

    this.addSql(`
      create table marketplace_call (
        id bigserial primary key,
        marketplace text not null,
        operation text not null,
        entity_key text null,
        http_status int null,
        throttled boolean not null default false,
        started_at timestamptz not null,
        duration_ms int not null,
        attempt int not null default 1,
        error text null
      );`);
    this.addSql(`create index marketplace_call_started_at on marketplace_call (started_at);`);

    this.addSql(`
      create table queue_message (
        id bigserial primary key,
        queue text not null,
        body text not null,
        properties jsonb not null default '{}',
        enqueued_at timestamptz not null default now(),
        delivery_count int not null default 0
      );`);
    this.addSql(`create index queue_message_queue_id on queue_message (queue, id);`);

    this.addSql(`
      create table backout_message (
        id bigserial primary key,
        queue text not null,
        original_queue text not null,
        body text not null,
        properties jsonb not null default '{}',
        reason text not null,
        created_at timestamptz not null default now()
      );`);
  }

  override async down(): Promise<void> {
    for (const t of [
      'backout_message',
      'queue_message',
      'marketplace_call',
      'listing',
      'actor_snapshot',
      'actor_inbox',
      'event_log',
    ]) {
      this.addSql(`drop table if exists ${t};`);
    }
  }
}
