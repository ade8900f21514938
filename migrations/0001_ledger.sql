-- The double-entry ledger.
--
-- Every money movement is a row of ledger_transfers: `amount` leaves `debit_account_id` and arrives at
-- `credit_account_id`. Account balances are never written directly: a statement-level trigger applies
-- each inserted batch of transfers to the accounts, so the sum over all accounts stays zero by
-- construction, and a guard refuses any other change to a balance. Floors are CHECK constraints on
-- the accounts, so no code path and no hand-typed statement can leave an account below its floor.
-- A campaign's spend is taken from its hold account, whose floor is zero: posted spend can never
-- exceed what was held for the campaign.
--
-- Constraint names are part of the interface: the Rust error mapping reads them. Rules about what
-- never changes after an account is created (its kind, currency and owner) are checked by a trigger
-- when the row is inserted, and a guard refuses any later change to them; that keeps the CHECK
-- constraints, which PostgreSQL evaluates on every balance update, down to the cheap ones.

create table ledger_accounts (
    id            bigint generated always as identity primary key,
    -- checked on insert: account_kind_known
    kind          text not null,
    -- checked on insert: account_currency_format
    currency      char(3) not null,
    advertiser_id uuid,
    campaign_id   uuid,
    -- how far below zero advertiser cash may go; zero for every other kind
    credit_limit  numeric(20, 6) not null default 0
        constraint account_credit_limit_non_negative check (credit_limit >= 0),
    -- net posted balance: credits received minus debits sent
    posted        numeric(20, 6) not null default 0,
    -- pending (two-phase) debits not yet resolved; they count against the floor
    reserved      numeric(20, 6) not null default 0
        constraint account_reserved_non_negative check (reserved >= 0),
    -- pending credits not yet resolved; they are not spendable until posted
    incoming      numeric(20, 6) not null default 0
        constraint account_incoming_non_negative check (incoming >= 0),
    created_at    timestamptz not null default now(),
    -- checked on insert and on every change of credit_limit: account_credit_limit_only_cash;
    -- checked on insert: account_owner_shape
    -- The floor rule of each kind. The external world (the other side of every deposit) and the
    -- platform's invalid-traffic credits (what the platform gives away) have none.
    constraint account_floor check (
        case kind
            when 'external' then true
            when 'invalid_traffic_credits' then true
            when 'advertiser_cash' then posted - reserved >= -credit_limit
            else posted - reserved >= 0
        end)
) with (fillfactor = 50); -- room on each page, so balance updates stay HOT (no index writes)

create unique index ledger_accounts_cash_unique
    on ledger_accounts (advertiser_id, currency) where kind = 'advertiser_cash';
create unique index ledger_accounts_campaign_unique
    on ledger_accounts (campaign_id, kind) where campaign_id is not null;
create unique index ledger_accounts_platform_unique
    on ledger_accounts (kind, currency) where advertiser_id is null;

-- Which kind of transfer may move money between which kinds of account. Read by the insert
-- triggers; a transfer of any other shape is refused.
create table ledger_transfer_shapes (
    kind        text not null,
    debit_kind  text not null,
    credit_kind text not null,
    primary key (kind, debit_kind, credit_kind)
);

insert into ledger_transfer_shapes (kind, debit_kind, credit_kind) values
    ('deposit',    'external',                'advertiser_cash'),
    ('withdrawal', 'advertiser_cash',         'external'),
    ('credit',     'invalid_traffic_credits', 'advertiser_cash'),
    ('hold',       'advertiser_cash',         'campaign_hold'),
    ('release',    'campaign_hold',           'advertiser_cash'),
    ('spend',      'campaign_hold',           'campaign_spend'),
    ('revenue',    'campaign_spend',          'platform_revenue'),
    ('refund',     'campaign_spend',          'advertiser_cash'),
    ('refund',     'platform_revenue',        'advertiser_cash');

create table ledger_transfers (
    id                uuid primary key,
    -- commit order per account: writers lock both accounts before they take a number
    seq               bigint generated always as identity,
    debit_account_id  bigint not null,
    credit_account_id bigint not null,
    amount            numeric(20, 6) not null
        constraint transfer_amount_positive check (amount > 0),
    currency          char(3) not null,
    kind              text not null,
    advertiser_id     uuid,
    campaign_id       uuid,
    event_id          text,
    lease_id          uuid,
    -- set when this transfer posts a pending (two-phase) transfer; equal to `id` then
    pending_id        uuid,
    metadata          jsonb not null default '{}',
    posted_at         timestamptz not null default now(),
    constraint transfer_distinct_accounts check (debit_account_id <> credit_account_id)
);

create index ledger_transfers_debit_seq on ledger_transfers (debit_account_id, seq);
create index ledger_transfers_credit_seq on ledger_transfers (credit_account_id, seq);

create table ledger_pending_transfers (
    id                uuid primary key,
    debit_account_id  bigint not null,
    credit_account_id bigint not null,
    amount            numeric(20, 6) not null
        constraint pending_amount_positive check (amount > 0),
    currency          char(3) not null,
    kind              text not null,
    advertiser_id     uuid,
    campaign_id       uuid,
    event_id          text,
    lease_id          uuid,
    metadata          jsonb not null default '{}',
    created_at        timestamptz not null default now(),
    expires_at        timestamptz not null,
    state             text not null default 'pending'
        constraint pending_state_known check (state in ('pending', 'posted', 'voided', 'expired')),
    posted_amount     numeric(20, 6),
    resolved_at       timestamptz,
    constraint pending_distinct_accounts check (debit_account_id <> credit_account_id),
    constraint pending_posted_amount_range check (
        posted_amount is null or (posted_amount > 0 and posted_amount <= amount)),
    constraint pending_resolution_shape check (
        (state = 'pending') = (resolved_at is null)
        and (state = 'posted') = (posted_amount is not null))
);

create index ledger_pending_open_expiry on ledger_pending_transfers (expires_at) where state = 'pending';

create function ledger_apply_transfers() returns trigger
language plpgsql as $$
declare
    bad record;
begin
    -- One query finds the first problem of either kind: a shape or currency that is not allowed
    -- (checked once per distinct debit, credit, kind and currency: a batch of spend over a thousand
    -- campaigns has a thousand of those, however many rows it has), or an id that a pending
    -- transfer holds (pending transfers and transfers share one id space; only the posting of a
    -- pending transfer reuses its id).
    select bad_rows.* into bad
      from (select 'transfer_accounts_valid' as rule, n.kind, n.currency,
                   n.debit_account_id, n.credit_account_id,
                   format('debit %s/%s, credit %s/%s, transfer currency %s',
                          d.kind, d.currency, c.kind, c.currency, n.currency) as detail
              from (select distinct debit_account_id, credit_account_id, kind, currency from new_rows) n
              left join ledger_accounts d on d.id = n.debit_account_id
              left join ledger_accounts c on c.id = n.credit_account_id
              left join ledger_transfer_shapes s
                     on s.kind = n.kind and s.debit_kind = d.kind and s.credit_kind = c.kind
             where d.id is null or c.id is null or s.kind is null
                or d.currency <> n.currency or c.currency <> n.currency
            union all
            select 'transfer_id_taken', n.kind, n.currency, n.debit_account_id, n.credit_account_id,
                   format('transfer %s', n.id)
              from new_rows n
              join ledger_pending_transfers p on p.id = n.id
             where n.pending_id is distinct from n.id) bad_rows
     limit 1;
    if found and bad.rule = 'transfer_id_taken' then
        raise exception 'a transfer id is already taken by a pending transfer'
            using errcode = 'unique_violation', constraint = 'transfer_id_taken', detail = bad.detail;
    elsif found then
        raise exception 'a % transfer from account % to account % is not allowed',
                bad.kind, bad.debit_account_id, bad.credit_account_id
            using errcode = 'check_violation', constraint = 'transfer_accounts_valid', detail = bad.detail;
    end if;

    update ledger_accounts a
       set posted = a.posted + m.delta
      from (select account_id, sum(delta) as delta
              from (select debit_account_id as account_id, -amount as delta from new_rows
                    union all
                    select credit_account_id, amount from new_rows) moves
             group by account_id) m
     where a.id = m.account_id;
    return null;
end
$$;

create trigger ledger_transfers_apply
    after insert on ledger_transfers
    referencing new table as new_rows
    for each statement execute function ledger_apply_transfers();

create function ledger_refuse_change() returns trigger
language plpgsql as $$
begin
    raise exception '% is append-only: % refused', tg_table_name, tg_op
        using errcode = 'insufficient_privilege', constraint = tg_table_name || '_append_only';
end
$$;

create trigger ledger_transfers_immutable
    before update or delete on ledger_transfers
    for each row execute function ledger_refuse_change();
create trigger ledger_transfers_no_truncate
    before truncate on ledger_transfers
    for each statement execute function ledger_refuse_change();

-- What an account is never changes, and it must make sense from the start.
create function ledger_check_new_account() returns trigger
language plpgsql as $$
begin
    if new.kind not in ('advertiser_cash', 'campaign_hold', 'campaign_spend',
                        'platform_revenue', 'invalid_traffic_credits', 'external') then
        raise exception 'unknown account kind %', new.kind
            using errcode = 'check_violation', constraint = 'account_kind_known';
    end if;
    if new.currency !~ '^[A-Z]{3}$' then
        raise exception 'currency % is not a three-letter code', new.currency
            using errcode = 'check_violation', constraint = 'account_currency_format';
    end if;
    if not ((new.kind = 'advertiser_cash' and new.advertiser_id is not null and new.campaign_id is null)
            or (new.kind in ('campaign_hold', 'campaign_spend')
                and new.advertiser_id is not null and new.campaign_id is not null)
            or (new.kind in ('platform_revenue', 'invalid_traffic_credits', 'external')
                and new.advertiser_id is null and new.campaign_id is null)) then
        raise exception 'a % account cannot belong to advertiser % and campaign %',
                new.kind, new.advertiser_id, new.campaign_id
            using errcode = 'check_violation', constraint = 'account_owner_shape';
    end if;
    if new.kind <> 'advertiser_cash' and new.credit_limit <> 0 then
        raise exception 'only advertiser cash may have a credit limit'
            using errcode = 'check_violation', constraint = 'account_credit_limit_only_cash';
    end if;
    if new.posted <> 0 or new.reserved <> 0 or new.incoming <> 0 then
        raise exception 'a new ledger account starts at zero'
            using errcode = 'check_violation', constraint = 'account_balance_guarded';
    end if;
    return new;
end
$$;

create trigger ledger_accounts_check_new
    before insert on ledger_accounts
    for each row execute function ledger_check_new_account();

-- Balances move only when a transfer or pending transfer is written: the triggers below update
-- them; a statement typed by anyone else may change a credit limit and nothing more.
create function ledger_guard_account() returns trigger
language plpgsql as $$
begin
    if tg_op = 'DELETE' then
        raise exception 'ledger accounts are never deleted'
            using errcode = 'insufficient_privilege', constraint = 'account_balance_guarded';
    end if;
    if new.posted <> old.posted or new.reserved <> old.reserved or new.incoming <> old.incoming
       or new.kind <> old.kind or new.currency <> old.currency or new.id <> old.id
       or new.advertiser_id is distinct from old.advertiser_id
       or new.campaign_id is distinct from old.campaign_id then
        raise exception 'ledger account % changes only through transfers', old.id
            using errcode = 'check_violation', constraint = 'account_balance_guarded';
    end if;
    if new.kind <> 'advertiser_cash' and new.credit_limit <> 0 then
        raise exception 'only advertiser cash may have a credit limit'
            using errcode = 'check_violation', constraint = 'account_credit_limit_only_cash';
    end if;
    return new;
end
$$;

-- Fires only for statements typed at depth zero, not for the ledger's own triggers, so the
-- ledger's balance updates pay nothing for it.
create trigger ledger_accounts_guard
    before update or delete on ledger_accounts
    for each row when (pg_trigger_depth() = 0) execute function ledger_guard_account();

create function ledger_reserve_pending() returns trigger
language plpgsql as $$
declare
    bad record;
begin
    select n.id, n.kind, n.debit_account_id, n.credit_account_id
      into bad
      from new_rows n
      left join ledger_accounts d on d.id = n.debit_account_id
      left join ledger_accounts c on c.id = n.credit_account_id
      left join ledger_transfer_shapes s
             on s.kind = n.kind and s.debit_kind = d.kind and s.credit_kind = c.kind
     where d.id is null or c.id is null or s.kind is null
        or d.currency <> n.currency or c.currency <> n.currency
        or n.state <> 'pending'
     limit 1;
    if found then
        raise exception 'pending transfer % (% from account % to account %) is not allowed',
                bad.id, bad.kind, bad.debit_account_id, bad.credit_account_id
            using errcode = 'check_violation', constraint = 'transfer_accounts_valid';
    end if;
    if exists (select 1 from new_rows n join ledger_transfers t on t.id = n.id) then
        raise exception 'a pending transfer id is already taken by a transfer'
            using errcode = 'unique_violation', constraint = 'transfer_id_taken';
    end if;

    update ledger_accounts a
       set reserved = a.reserved + m.reserved, incoming = a.incoming + m.incoming
      from (select account_id, sum(reserved) as reserved, sum(incoming) as incoming
              from (select debit_account_id as account_id, amount as reserved, 0 as incoming from new_rows
                    union all
                    select credit_account_id, 0, amount from new_rows) moves
             group by account_id) m
     where a.id = m.account_id;
    return null;
end
$$;

create trigger ledger_pending_reserve
    after insert on ledger_pending_transfers
    referencing new table as new_rows
    for each statement execute function ledger_reserve_pending();

-- A pending transfer resolves exactly once: pending -> posted | voided | expired, nothing else
-- about it may change, and it is never deleted.
create function ledger_guard_pending() returns trigger
language plpgsql as $$
begin
    if tg_op = 'DELETE' then
        raise exception 'pending transfers are never deleted'
            using errcode = 'insufficient_privilege', constraint = 'pending_resolves_once';
    end if;
    if old.state <> 'pending' then
        raise exception 'pending transfer % is already %', old.id, old.state
            using errcode = 'check_violation', constraint = 'pending_resolves_once';
    end if;
    if (new.debit_account_id, new.credit_account_id, new.amount, new.currency, new.kind, new.expires_at,
        new.created_at)
       is distinct from
       (old.debit_account_id, old.credit_account_id, old.amount, old.currency, old.kind, old.expires_at,
        old.created_at) then
        raise exception 'pending transfer % can only be resolved, not edited', old.id
            using errcode = 'check_violation', constraint = 'pending_resolves_once';
    end if;
    return case when tg_op = 'DELETE' then old else new end;
end
$$;

create trigger ledger_pending_guard
    before update or delete on ledger_pending_transfers
    for each row execute function ledger_guard_pending();

create function ledger_resolve_pending() returns trigger
language plpgsql as $$
begin
    if new.state = old.state then
        return null;
    end if;
    update ledger_accounts set reserved = reserved - new.amount where id = new.debit_account_id;
    update ledger_accounts set incoming = incoming - new.amount where id = new.credit_account_id;
    if new.state = 'posted' then
        insert into ledger_transfers (id, debit_account_id, credit_account_id, amount, currency, kind,
                                      advertiser_id, campaign_id, event_id, lease_id, pending_id,
                                      metadata, posted_at)
        values (new.id, new.debit_account_id, new.credit_account_id, new.posted_amount, new.currency,
                new.kind, new.advertiser_id, new.campaign_id, new.event_id, new.lease_id, new.id,
                new.metadata, new.resolved_at);
    end if;
    return null;
end
$$;

create trigger ledger_pending_resolve
    after update on ledger_pending_transfers
    for each row execute function ledger_resolve_pending();
