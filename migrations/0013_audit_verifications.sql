-- Verifications of the audit chain, run as jobs: one at a time, each either a full walk or a
-- walk resumed from the head the last intact verification reached; how far each got is kept
-- (`rows_checked`, moved on every second with `heartbeat_at`), and what it found. A job whose
-- process died (no heartbeat for a minute) is set `abandoned` by the next start.
create table audit_verifications (
    id            uuid primary key,
    full_walk     boolean not null,
    requested_by  text not null,
    started_at    timestamptz not null,
    heartbeat_at  timestamptz not null,
    finished_at   timestamptz,
    status        text not null
        constraint audit_verification_status_known
            check (status in ('running', 'intact', 'broken', 'failed', 'abandoned')),
    -- the rows verified before this walk (0: a full walk) and the head it resumed from
    from_rows     bigint not null constraint audit_verification_from check (from_rows >= 0),
    rows_checked  bigint not null default 0,
    head_rows     bigint,
    head_hash     bytea,
    checkpoints   integer,
    signatures_checked boolean not null,
    fault_position bigint,
    fault         text,
    constraint audit_verification_finished check ((status = 'running') = (finished_at is null)),
    constraint audit_verification_intact_head
        check (status <> 'intact' or (head_rows is not null and head_hash is not null))
);

create unique index audit_verifications_one_running on audit_verifications ((true))
    where status = 'running';
create index audit_verifications_intact on audit_verifications (head_rows desc)
    where status = 'intact';
