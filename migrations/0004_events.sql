-- Served events on the bill. Each billed event is a spend transfer in ledger_transfers whose id is
-- derived from the event id (so it posts once, however often the event is delivered), with the
-- event and the lease that paid for it in event_id and lease_id. These tables hold the rest.

-- Served ads the ledger refused to bill: spend beyond the campaign's hold (over-delivery), or a
-- campaign with no budget accounts. One row per served ad, never changed: an ad is either billed
-- (a spend transfer) or here, never both; the ledger writer checks this table before it posts a
-- redelivered event again.
create table unbilled_events (
    event_id    text collate "C" primary key,
    campaign_id uuid not null,
    lease_id    uuid not null,
    amount      numeric(20, 6) not null constraint unbilled_amount_positive check (amount > 0),
    currency    char(3),
    reason      text not null
        constraint unbilled_reason_known check (reason in ('over_delivery', 'no_budget', 'refused')),
    detail      text not null default '',
    event_at    timestamptz not null,
    recorded_at timestamptz not null default now()
);

create index unbilled_events_campaign on unbilled_events (campaign_id, event_at);

create trigger unbilled_events_immutable
    before update or delete on unbilled_events
    for each row execute function ledger_refuse_change();
create trigger unbilled_events_no_truncate
    before truncate on unbilled_events
    for each statement execute function ledger_refuse_change();

-- An ad's impression and its click share the ad's event id: one row of each kind.
-- Event ids compare byte by byte (the "C" collation): the ledger writer inserts thousands a
-- second, and a locale-aware comparison costs several times as much.
alter table ad_events drop constraint ad_events_pkey;
alter table ad_events alter column event_id type text collate "C";
alter table ad_events add primary key (event_id, kind);
-- What the fraud checks judge an event by, and why it was judged invalid (level 2's signals
-- when the tracking endpoint refused to bill it; `invalid_traffic:...` when the scorer
-- convicted its source afterwards, and refunded it).
alter table ad_events
    add column ip text,
    add column device text,
    add column user_agent text,
    add column invalid_reason text;
-- Recent events by time, for the fraud scorer: a BRIN index, cheap to keep on a table that
-- grows in time order.
create index ad_events_at on ad_events using brin (at);

-- Stream entries that are not events (damaged, or written by something else): kept for an
-- operator and acknowledged, so they do not hold up the consumer group.
create table event_dead_letters (
    stream      text not null,
    entry_id    text not null,
    fields      jsonb not null,
    error       text not null,
    recorded_at timestamptz not null default now(),
    primary key (stream, entry_id)
);

-- Known-bad traffic sources (fraud level 1): servingd does not bid for them and does not bill
-- their events. Managed through the API.
create table blocked_sources (
    kind     text not null constraint blocked_kind_known check (kind in ('ip', 'device')),
    value    text not null constraint blocked_value_length check (length(value) between 1 and 200),
    reason   text not null default '' constraint blocked_reason_length check (length(reason) <= 500),
    added_by text not null,
    added_at timestamptz not null default now(),
    primary key (kind, value)
);

-- Changes with every change of the list, so servingd reloads it only when it changed.
create table blocked_sources_revision (
    only_row boolean primary key default true constraint blocked_revision_one_row check (only_row),
    revision bigint not null
);
insert into blocked_sources_revision (revision) values (0);

create function blocked_sources_changed() returns trigger
language plpgsql as $$
begin
    update blocked_sources_revision set revision = revision + 1;
    return null;
end
$$;

create trigger blocked_sources_bump
    after insert or update or delete or truncate on blocked_sources
    for each statement execute function blocked_sources_changed();
