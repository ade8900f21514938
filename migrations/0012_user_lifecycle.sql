-- Users are disabled, deleted, given a new password or a new role; each such change bumps the
-- user's token version, and tokens carrying an older version are refused (every API instance
-- reads the users whose tokens changed lately, `tokens_changed_at`, every second). A deleted
-- user is kept (the audit trail names it, and its name is never given to somebody else) but
-- can neither sign in nor be seen in lists.
alter table users
    add column created_by uuid,
    add column disabled_at timestamptz,
    add column deleted_at timestamptz,
    add column token_version integer not null default 0
        constraint user_token_version_counts_up check (token_version >= 0),
    add column tokens_changed_at timestamptz,
    -- every change of standing moves the token version with it
    add constraint user_standing_changes_tokens
        check ((disabled_at is null and deleted_at is null) or tokens_changed_at is not null);

create index users_tokens_changed on users (tokens_changed_at) where tokens_changed_at is not null;
-- what every instance reads every second: keys revoked within a token's lifetime
create index api_keys_revoked on api_keys (revoked_at) where revoked_at is not null;
