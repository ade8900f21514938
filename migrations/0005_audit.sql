-- The audit trail: an append-only, hash-chained log of every ledger transfer, every budget
-- allocation, settlement and reap, and every admin action.
--
-- Sources do not chain their own rows: that would make every ledger transaction wait for the
-- chain's head. Each transaction leaves what it did in `audit_outbox` (for transfers and the
-- budget log, a trigger does it, so nothing reaches those tables unaudited, whatever wrote it),
-- and the chainer (`Ledger::chain_audit`) moves the outbox into `audit_log` in order, holding the
-- head's lock, so the chain stays linear however many write at once. A row's hash covers its
-- position, the previous row's hash and its content (`ledger::audit`).

create table audit_log (
    position      bigint primary key constraint audit_position_positive check (position > 0),
    at            timestamptz not null,
    actor         text not null,
    role          text not null,
    action        text not null,
    object        text not null,
    advertiser_id uuid,
    request_id    text,
    before        jsonb,
    after         jsonb,
    prev_hash     bytea not null constraint audit_prev_hash_size check (length(prev_hash) = 32),
    hash          bytea not null constraint audit_hash_size check (length(hash) = 32),
    chained_at    timestamptz not null default now()
);

create index audit_log_object on audit_log (object, position);
create index audit_log_advertiser on audit_log (advertiser_id, position)
    where advertiser_id is not null;

create trigger audit_log_immutable
    before update or delete on audit_log
    for each row execute function ledger_refuse_change();
create trigger audit_log_no_truncate
    before truncate on audit_log
    for each statement execute function ledger_refuse_change();

-- The chain's head: one row, locked by the chainer while it appends.
create table audit_head (
    id        boolean primary key default true constraint audit_head_single check (id),
    size      bigint not null default 0,
    head_hash bytea not null default decode(repeat('00', 32), 'hex')
);
insert into audit_head default values;

-- What waits to be chained: ids of transfers or budget log rows, or a whole record (admin actions).
create table audit_outbox (
    id           bigint generated always as identity primary key,
    source       text not null
        constraint audit_outbox_source_known check (source in ('ledger_transfers', 'budget_log', 'record')),
    transfer_ids uuid[],
    log_seqs     bigint[],
    record       jsonb,
    created_at   timestamptz not null default now(),
    constraint audit_outbox_shape check (
        (source = 'ledger_transfers' and transfer_ids is not null)
        or (source = 'budget_log' and log_seqs is not null)
        or (source = 'record' and record is not null))
);

create function audit_outbox_transfers() returns trigger
language plpgsql as $$
begin
    insert into audit_outbox (source, transfer_ids)
    select 'ledger_transfers', array_agg(id order by seq) from new_rows having count(*) > 0;
    return null;
end
$$;

create trigger ledger_transfers_audit
    after insert on ledger_transfers
    referencing new table as new_rows
    for each statement execute function audit_outbox_transfers();

-- Allocations, refusals, settlements, late settlements, reaps, rebuilds and repairs (requests and
-- renewals are routine and many; what they lead to is audited).
create function audit_outbox_budget() returns trigger
language plpgsql as $$
begin
    insert into audit_outbox (source, log_seqs)
    select 'budget_log', array_agg(seq order by seq) from new_rows
     where action not in ('request', 'renew')
    having count(*) > 0;
    return null;
end
$$;

create trigger budget_log_audit
    after insert on budget_log
    referencing new table as new_rows
    for each statement execute function audit_outbox_budget();
