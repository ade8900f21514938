-- Signed checkpoints of the audit chain's head. The chainer asks for one at most every so many
-- rows or seconds (unsigned); the signer signs them in order through Vault transit (ed25519),
-- and when Vault is away they wait, unsigned, and are signed in order once it is back. A
-- checkpoint is signed once and then never changes, and none goes away.
create table audit_checkpoints (
    size         bigint primary key constraint audit_checkpoint_size_positive check (size > 0),
    head_hash    bytea not null constraint audit_checkpoint_hash_size check (length(head_hash) = 32),
    requested_at timestamptz not null default now(),
    signature    text,
    key_version  integer,
    signed_at    timestamptz,
    constraint audit_checkpoint_signed_shape check (
        (signature is null) = (key_version is null) and (signature is null) = (signed_at is null))
);

create function audit_checkpoint_guard() returns trigger
language plpgsql as $$
begin
    if tg_op = 'DELETE' or old.signature is not null or new.size <> old.size
       or new.head_hash <> old.head_hash or new.requested_at <> old.requested_at then
        raise exception 'audit checkpoints are signed once and never change: % refused', tg_op
            using errcode = 'insufficient_privilege', constraint = 'audit_checkpoints_append_only';
    end if;
    return new;
end
$$;

create trigger audit_checkpoints_guard
    before update or delete on audit_checkpoints
    for each row execute function audit_checkpoint_guard();
create trigger audit_checkpoints_no_truncate
    before truncate on audit_checkpoints
    for each statement execute function ledger_refuse_change();
