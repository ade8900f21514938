-- KEYS: budget hash
-- ARGV: lease, ledger_spent, now_ms, grace_ms
-- Closes one lease past its deadline and grace, as CampaignBudget::reap does for each: what the
-- ledger recorded for it counts as spent, the rest goes back. A lease renewed meanwhile stays.
local lease, now, grace = ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4])
local v = redis.call('HMGET', KEYS[1], 'remaining', 'spent', 'l:' .. lease)
if not v[1] then return {'missing'} end
if not v[3] then return {'gone'} end
local kind, granted, deadline = parse_lease(v[3])
if kind == 'C' then return {'gone'} end
if deadline + grace > now then return {'alive'} end
local spent = math.max(0, math.min(tonumber(ARGV[2]), granted))
redis.call('HSET', KEYS[1],
  'remaining', fmt(tonumber(v[1]) + granted - spent), 'spent', fmt(tonumber(v[2]) + spent),
  'l:' .. lease, 'C|' .. fmt(granted) .. '|' .. fmt(spent) .. '|R|' .. ARGV[3])
return {'reaped', fmt(granted - spent), fmt(granted)}
