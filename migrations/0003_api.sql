-- The admin API: advertisers, who may sign in, campaigns, the campaign feed, and served events.
--
-- Constraint names are part of the interface: the API maps them to 409/422 responses.

create table advertisers (
    id         uuid primary key,
    name       text not null
        constraint advertiser_name_length check (char_length(name) between 1 and 200),
    -- every account and campaign of the advertiser is kept in this currency
    currency   char(3) not null
        constraint advertiser_currency_format check (currency ~ '^[A-Z]{3}$'),
    created_at timestamptz not null default now()
);

create unique index advertisers_name_unique on advertisers (lower(name));

-- People who sign in with a user name and password. The password is stored as an argon2 hash.
create table users (
    id            uuid primary key,
    username      text not null
        constraint user_username_format check (username ~ '^[a-z0-9][a-z0-9._@-]{2,63}$'),
    password_hash text not null,
    role          text not null
        constraint user_role_known check (role in ('advertiser', 'operator', 'billing', 'service', 'admin')),
    advertiser_id uuid references advertisers (id),
    created_at    timestamptz not null default now(),
    -- an advertiser user is bound to exactly one advertiser; no other role is
    constraint user_advertiser_scope check ((role = 'advertiser') = (advertiser_id is not null))
);

create unique index users_username_unique on users (username);
create index users_advertiser on users (advertiser_id, id) where advertiser_id is not null;

-- Keys for programs (servingd, billing scripts). The secret is shown once and stored hashed.
create table api_keys (
    id            uuid primary key,
    name          text not null
        constraint api_key_name_length check (char_length(name) between 1 and 200),
    secret_hash   text not null,
    role          text not null
        constraint api_key_role_known check (role in ('advertiser', 'operator', 'billing', 'service', 'admin')),
    advertiser_id uuid references advertisers (id),
    created_at    timestamptz not null default now(),
    revoked_at    timestamptz,
    constraint api_key_advertiser_scope check ((role = 'advertiser') = (advertiser_id is not null))
);

create index api_keys_advertiser on api_keys (advertiser_id, id) where advertiser_id is not null;

create table campaigns (
    id              uuid primary key,
    advertiser_id   uuid not null references advertisers (id),
    name            text not null
        constraint campaign_name_length check (char_length(name) between 1 and 200),
    status          text not null
        constraint campaign_status_known check (
            status in ('draft', 'active', 'paused', 'archived', 'exhausted', 'ended')),
    currency        char(3) not null,
    daily_budget    numeric(20, 6)
        constraint campaign_daily_budget_positive check (daily_budget > 0),
    lifetime_budget numeric(20, 6)
        constraint campaign_lifetime_budget_positive check (lifetime_budget > 0),
    bid_kind        text not null
        constraint campaign_bid_kind_known check (bid_kind in ('cpm', 'cpc')),
    bid_amount      numeric(20, 6) not null
        constraint campaign_bid_positive check (bid_amount > 0),
    pacing          text not null
        constraint campaign_pacing_known check (pacing in ('even', 'accelerated')),
    schedule        jsonb not null,
    targeting       jsonb not null,
    frequency_cap   jsonb,
    creatives       jsonb not null,
    -- how many hold or release transfers the campaign has made: the next one's id derives from it
    hold_seq        integer not null default 0,
    -- the local day (in the campaign's time zone) whose daily budget is held
    held_day        date,
    -- the feed revision of the campaign's last change
    revision        bigint not null,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    constraint campaign_has_budget check (daily_budget is not null or lifetime_budget is not null)
);

create index campaigns_advertiser on campaigns (advertiser_id, id);
create index campaigns_status on campaigns (status, id);

-- The campaign feed's clock. Every campaign change takes the next revision from this one row in
-- the change's own transaction: the row lock orders the commits, so revisions become visible in
-- order and a reader that has seen revision N never later finds a smaller one appear.
create table feed_revision (
    singleton boolean primary key default true constraint feed_revision_singleton check (singleton),
    revision  bigint not null
);

insert into feed_revision (singleton, revision) values (true, 0);

-- Every change of every campaign, in revision order, with the campaign as it was after it.
create table campaign_changes (
    revision    bigint primary key,
    campaign_id uuid not null,
    at          timestamptz not null default now(),
    campaign    jsonb not null
);

create trigger campaign_changes_immutable
    before update or delete on campaign_changes
    for each row execute function ledger_refuse_change();
create trigger campaign_changes_no_truncate
    before truncate on campaign_changes
    for each statement execute function ledger_refuse_change();

-- Served events (impressions and clicks) as the tracking path records them; reports count them.
create table ad_events (
    event_id    text primary key,
    campaign_id uuid not null,
    kind        text not null constraint ad_event_kind_known check (kind in ('impression', 'click')),
    at          timestamptz not null,
    valid       boolean not null default true
);

create index ad_events_campaign_at on ad_events (campaign_id, at);
create index ledger_transfers_campaign_kind on ledger_transfers (campaign_id, kind, posted_at)
    where campaign_id is not null;
