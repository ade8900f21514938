-- KEYS: budget, open leases, closed leases
-- ARGV: lease, ledger_spent, now_ms, grace_ms
-- Closes one lease past its deadline and grace, as CampaignBudget::reap does for each: what the
-- ledger recorded for it counts as spent, the rest goes back. A lease renewed meanwhile stays.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local lease, now, grace = ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4])
local open = redis.call('HGET', KEYS[2], lease)
if not open then return {'gone'} end
local _, granted, deadline = parse_open(open)
if deadline + grace > now then return {'alive'} end
local spent = math.max(0, math.min(tonumber(ARGV[2]), granted))
redis.call('HDEL', KEYS[2], lease)
redis.call('HINCRBY', KEYS[1], 'remaining', fmt(granted - spent))
redis.call('HINCRBY', KEYS[1], 'spent', fmt(spent))
redis.call('HSET', KEYS[3], lease, fmt(granted) .. '|' .. fmt(spent) .. '|R')
return {'reaped', fmt(granted - spent), fmt(granted)}
