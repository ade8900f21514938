-- The budget controller's audit trail. Redis holds the fast copy of each campaign's budget; these
-- tables remember every lease before Redis grants it and every change after, so that whatever
-- Redis loses, PostgreSQL still knows what is granted and to whom.

create table budget_leases (
    lease_id       uuid primary key,
    campaign_id    uuid not null,
    server         text not null,
    -- what the server asked for: an upper bound on the grant while the grant is not yet recorded
    want_micros    bigint not null constraint budget_lease_want_non_negative check (want_micros >= 0),
    granted_micros bigint constraint budget_lease_granted_non_negative check (granted_micros >= 0),
    deadline_ms    bigint,
    state          text not null
        constraint budget_lease_state_known check (state in ('requested', 'open', 'refused', 'settled', 'reaped')),
    spent_micros   bigint constraint budget_lease_spent_non_negative check (spent_micros >= 0),
    created_at     timestamptz not null default now(),
    closed_at      timestamptz,
    constraint budget_lease_spent_within_grant check (spent_micros <= granted_micros),
    constraint budget_lease_grant_within_want check (granted_micros <= want_micros),
    constraint budget_lease_shape check (
        (state = 'requested' and granted_micros is null and spent_micros is null)
        or (state = 'open' and granted_micros > 0 and deadline_ms is not null and spent_micros is null)
        or (state = 'refused' and granted_micros is null)
        or (state in ('settled', 'reaped') and granted_micros is not null and spent_micros is not null))
);

create index budget_leases_unsettled on budget_leases (campaign_id) where state in ('requested', 'open');
create index budget_leases_deadline on budget_leases (deadline_ms) where state = 'open';

-- Every allocation, settlement, renewal, reap and rebuild, in order. Append-only.
create table budget_log (
    seq           bigint generated always as identity primary key,
    at            timestamptz not null default now(),
    campaign_id   uuid not null,
    lease_id      uuid,
    action        text not null
        constraint budget_log_action_known check (action in (
            'request', 'allocate', 'refuse', 'settle', 'late', 'renew', 'reap', 'rebuild', 'repair')),
    amount_micros bigint,
    detail        jsonb not null default '{}'
);

create trigger budget_log_immutable
    before update or delete on budget_log
    for each row execute function ledger_refuse_change();
create trigger budget_log_no_truncate
    before truncate on budget_log
    for each statement execute function ledger_refuse_change();

-- The spend the ledger has recorded for each lease, for the reaper and for rebuilds.
create index ledger_transfers_lease on ledger_transfers (lease_id) where lease_id is not null;
