import { Migration } from '@mikro-orm/migrations';

/** Orders: the outbox to the OMS, the pollers' cursors, the order read model and durable timers. */
export class Migration20261204000000 extends Migration {
  override async up(): Promise<void> {
    // Messages to the OMS, written in the same transaction as the state change that caused them;
    // the relay publishes the unsent ones in order and marks them sent. `id` is the message's own
    // stable id (the OMS drops a redelivery by it), so writing the same message twice is a no-op.
    this.addSql(`
      create table outbox (
        seq bigserial not null unique,
        id text primary key,
        queue text not null,
        type text not null,
        actor_key text null,
        payload jsonb not null,
        created_at timestamptz not null default now(),
        sent_at timestamptz null,
        attempts int not null default 0,
        last_error text null
      );`);
    this.addSql(`create index outbox_unsent on outbox (seq) where sent_at is null;`);

    this.addSql(`
      create table poll_cursor (
        marketplace text not null,
        source text not null,
        cursor text not null,
        polled_at timestamptz not null default now(),
        orders_seen bigint not null default 0,
        primary key (marketplace, source)
      );`);

    this.addSql(`
      create table marketplace_order (
        id bigserial primary key,
        marketplace text not null,
        order_id text not null,
        state text not null,
        marketplace_status text null,
        purchased_at timestamptz null,
        ship_by timestamptz null,
        ship_by_missed_at timestamptz null,
        total numeric(14, 2) null,
        currency text null,
        line_count int not null default 0,
        last_error text null,
        last_event_id bigint not null default 0,
        updated_at timestamptz not null default now(),
        constraint marketplace_order_unique unique (marketplace, order_id)
      );`);
    this.addSql(`create index marketplace_order_state on marketplace_order (marketplace, state);`);
    this.addSql(`create index marketplace_order_purchased_at on marketplace_order (purchased_at);`);

    // Durable timers: when an actor wants to be woken (an order's ship-by), kept with its snapshot.
    this.addSql(`alter table actor_snapshot add column wake_at timestamptz null;`);
    this.addSql(`create index actor_snapshot_wake_at on actor_snapshot (wake_at) where wake_at is not null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table actor_snapshot drop column if exists wake_at;`);
    for (const t of ['marketplace_order', 'poll_cursor', 'outbox']) this.addSql(`drop table if exists ${t};`);
  }
}
