-- One audit row per ledger transaction instead of one per transfer. The statement trigger on
-- `ledger_transfers` now also computes, inside the posting transaction, a SHA-256 digest over a
-- canonical encoding of every transfer the statement inserted (in the order of `transfer_ids`);
-- the chainer appends one row per statement committing to that digest, and keeps the ids beside
-- it. `verify` reads the transfers back from `ledger_transfers`, encodes them itself
-- (`ledger::audit::digest`) and compares: a transfer altered or deleted after the fact is named
-- by the audit row that covers it. Rows chained before this migration keep their one row per
-- transfer and still verify.
--
-- The encoding of one transfer (version tag `adplat-transfers-v1` in front of them all):
--   id (16 bytes), kind (4-byte length, UTF-8), debit and credit account (8 bytes each),
--   amount as text (length, bytes), currency (length, bytes), advertiser and campaign (0, or 1
--   and 16 bytes), event id (0, or 1, length, bytes), lease and pending (0, or 1 and 16 bytes),
--   metadata as jsonb's text (length, bytes), posted_at (microseconds since 2000-01-01 UTC, 8
--   bytes, as timestamptz_send writes it).
-- Integers are big-endian.

alter table audit_outbox
    add column digest bytea,
    add column advertisers uuid[],
    add column posted_at timestamptz;

alter table audit_log
    add column transfer_ids uuid[],
    add column advertisers uuid[];

-- ids are random: compressing them only costs time
alter table audit_outbox alter column transfer_ids set storage external;
alter table audit_outbox alter column advertisers set storage external;
alter table audit_log alter column transfer_ids set storage external;

create index audit_log_advertisers on audit_log using gin (advertisers)
    where advertisers is not null;

create or replace function audit_outbox_transfers() returns trigger
language plpgsql as $$
begin
    -- one scan feeds every aggregate in the same order: the digest follows `transfer_ids`
    insert into audit_outbox (source, transfer_ids, digest, advertisers, posted_at)
    select 'ledger_transfers',
           array_agg(id),
           sha256(convert_to('adplat-transfers-v1', 'UTF8') || string_agg(
               uuid_send(id)
               || int4send(octet_length(kind)) || convert_to(kind, 'UTF8')
               || int8send(debit_account_id) || int8send(credit_account_id)
               || int4send(octet_length(amount::text)) || convert_to(amount::text, 'UTF8')
               || int4send(octet_length(currency::text)) || convert_to(currency::text, 'UTF8')
               || coalesce('\x01'::bytea || uuid_send(advertiser_id), '\x00'::bytea)
               || coalesce('\x01'::bytea || uuid_send(campaign_id), '\x00'::bytea)
               || coalesce('\x01'::bytea || int4send(octet_length(event_id))
                           || convert_to(event_id, 'UTF8'), '\x00'::bytea)
               || coalesce('\x01'::bytea || uuid_send(lease_id), '\x00'::bytea)
               || coalesce('\x01'::bytea || uuid_send(pending_id), '\x00'::bytea)
               || int4send(octet_length(metadata::text)) || convert_to(metadata::text, 'UTF8')
               || timestamptz_send(posted_at),
               ''::bytea)),
           -- one per transfer: the chainer keeps each advertiser once (cheaper than a sort here)
           array_agg(advertiser_id) filter (where advertiser_id is not null),
           max(posted_at)
      from new_rows
    having count(*) > 0;
    return null;
end
$$;

-- Statements that waited in the outbox across this migration get their digest too.
update audit_outbox o
   set digest = d.digest, advertisers = d.advertisers, posted_at = d.posted_at
  from (select o2.id,
               sha256(convert_to('adplat-transfers-v1', 'UTF8') || string_agg(
                   uuid_send(t.id)
                   || int4send(octet_length(t.kind)) || convert_to(t.kind, 'UTF8')
                   || int8send(t.debit_account_id) || int8send(t.credit_account_id)
                   || int4send(octet_length(t.amount::text)) || convert_to(t.amount::text, 'UTF8')
                   || int4send(octet_length(t.currency::text)) || convert_to(t.currency::text, 'UTF8')
                   || coalesce('\x01'::bytea || uuid_send(t.advertiser_id), '\x00'::bytea)
                   || coalesce('\x01'::bytea || uuid_send(t.campaign_id), '\x00'::bytea)
                   || coalesce('\x01'::bytea || int4send(octet_length(t.event_id))
                               || convert_to(t.event_id, 'UTF8'), '\x00'::bytea)
                   || coalesce('\x01'::bytea || uuid_send(t.lease_id), '\x00'::bytea)
                   || coalesce('\x01'::bytea || uuid_send(t.pending_id), '\x00'::bytea)
                   || int4send(octet_length(t.metadata::text)) || convert_to(t.metadata::text, 'UTF8')
                   || timestamptz_send(t.posted_at),
                   ''::bytea order by u.n)) as digest,
               array_agg(distinct t.advertiser_id) filter (where t.advertiser_id is not null)
                   as advertisers,
               max(t.posted_at) as posted_at
          from audit_outbox o2
          cross join lateral unnest(o2.transfer_ids) with ordinality as u(id, n)
          join ledger_transfers t on t.id = u.id
         where o2.source = 'ledger_transfers'
         group by o2.id) d
 where o.id = d.id;

alter table audit_outbox
    add constraint audit_outbox_transfers_digest check (
        source <> 'ledger_transfers' or (digest is not null and posted_at is not null));
