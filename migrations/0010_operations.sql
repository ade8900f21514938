-- What operators watch (`adctl top`, `adctl fraud refunds`).

-- Each servingd instance tells the API, every few seconds, that it is alive and which revision
-- of the campaign feed it serves: the API's system status lists the instances seen recently
-- and how far behind the feed each one is.
create table servingd_heartbeats (
    instance          text primary key
        constraint heartbeat_instance_length check (length(instance) between 1 and 200),
    revision          bigint not null
        constraint heartbeat_revision_non_negative check (revision >= 0),
    campaigns         integer not null
        constraint heartbeat_campaigns_non_negative check (campaigns >= 0),
    feed_staleness_ms bigint not null
        constraint heartbeat_staleness_non_negative check (feed_staleness_ms >= 0),
    version           text not null default ''
        constraint heartbeat_version_length check (length(version) <= 100),
    started_at        timestamptz not null,
    seen_at           timestamptz not null default now()
);

-- Refunds, newest first (the invalid-traffic refunds operators and billing list), and those of
-- the last hour (the dashboard's fraud panel).
create index ledger_transfers_refunds on ledger_transfers (seq) where kind = 'refund';
create index ledger_transfers_refunds_at on ledger_transfers (posted_at) where kind = 'refund';

-- A campaign created with an Idempotency-Key (`adctl campaigns create`, `adctl campaigns import`):
-- a retry with the same key finds the campaign it made instead of making another.
create table campaign_idempotency_keys (
    advertiser_id   uuid not null,
    idempotency_key text not null
        constraint campaign_idempotency_key_length check (length(idempotency_key) between 1 and 200),
    campaign_id     uuid not null references campaigns (id),
    created_at      timestamptz not null default now(),
    primary key (advertiser_id, idempotency_key)
);
