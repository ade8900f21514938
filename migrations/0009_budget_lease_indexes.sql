-- Indexes for the budget controller's lease queries by campaign and for the true-up. (Kept out
-- of 0008, which a database may already have applied as it was first written.)

-- A campaign's leases, closed ones too (rebuilds and installs read them by campaign).
create index budget_leases_campaign on budget_leases (campaign_id);
-- The open per-click leases, which the true-up looks at every second.
create index budget_leases_clicks_in_flight on budget_leases (lease_id) where per_click and state = 'open';
