-- Supply partners: the exchanges allowed to ask servingd for ads. Each has a credential (only
-- its SHA-256 is kept; the text is shown once), and rules checked when an event of an ad it was
-- sold arrives: the addresses its billing URLs may be fetched from, the currency it trades in,
-- and the most it may be charged per thousand impressions.
create table supply_partners (
    id             uuid primary key,
    name           text not null unique
        constraint partner_name_length check (length(name) between 1 and 100),
    status         text not null default 'active'
        constraint partner_status check (status in ('active', 'disabled')),
    currency       char(3) not null
        constraint partner_currency_code check (currency ~ '^[A-Z]{3}$'),
    max_cpm        numeric(20, 6)
        constraint partner_max_cpm_positive check (max_cpm > 0),
    -- empty: billing URLs may come from anywhere
    burl_networks  cidr[] not null default '{}'
        constraint partner_burl_networks_count check (cardinality(burl_networks) <= 100),
    key_hash       bytea not null unique
        constraint partner_key_hash_length check (length(key_hash) = 32),
    key_prefix     text not null
        constraint partner_key_prefix_length check (length(key_prefix) between 1 and 20),
    created_by     text not null,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now()
);

-- Changes with every change of the partners, so servingd reloads them only when they changed.
create table supply_partners_revision (
    only_row boolean primary key default true constraint partners_revision_one_row check (only_row),
    revision bigint not null
);
insert into supply_partners_revision (revision) values (0);

create function supply_partners_changed() returns trigger
language plpgsql as $$
begin
    update supply_partners_revision set revision = revision + 1;
    return null;
end
$$;

create trigger supply_partners_bump
    after insert or update or delete or truncate on supply_partners
    for each statement execute function supply_partners_changed();

-- Which partner sold each served ad, and traffic the partner marked as a test (`test: 1`):
-- recorded, never billed, never counted as delivery.
alter table ad_events
    add column partner_id uuid,
    add column test boolean not null default false;
