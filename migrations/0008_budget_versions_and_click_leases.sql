-- The budget controller learns of budget changes as they happen and counts per-click spend by
-- the clicks the ledger bills.
--
-- Budget changes: when a campaign's hold changes (activation, a new budget, a new day, a pause)
-- the API installs or resizes the campaign's state in Redis at once; the log says which.
--
-- Per-click leases: a CPC campaign's lease counts each impression at what it is expected to
-- cost (the bid times the predicted click rate) while the clicks are still to come. Once the
-- lease is closed, the controller replaces that figure with what its clicks came to (billed, or
-- refused beyond the budget and recorded in `unbilled_events`): at once whenever the clicks
-- exceed it, and for good when the click window has passed (`true_up`). `counted_micros` is what the controller counts as the lease's spend (the
-- provisional figure first, the billed clicks at the end; it may exceed the grant, since clicks
-- are facts), `clicks_final` that the click window has passed.

alter table budget_log drop constraint budget_log_action_known;
alter table budget_log add constraint budget_log_action_known check (action in (
    'request', 'allocate', 'refuse', 'settle', 'late', 'renew', 'reap', 'rebuild', 'repair',
    'install', 'resize', 'true_up'));

alter table budget_leases
    add column per_click boolean not null default false,
    add column counted_micros bigint
        constraint budget_lease_counted_non_negative check (counted_micros >= 0),
    add column clicks_final boolean not null default false;

-- The per-click leases whose count may still change: closed, click window still open.
create index budget_leases_clicks_open on budget_leases (lease_id)
    where per_click and not clicks_final and state in ('settled', 'reaped');

-- What a lease's refused events came to, for the true-up.
create index unbilled_events_lease on unbilled_events (lease_id);
