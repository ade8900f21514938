-- KEYS: budget hash
-- ARGV: lease, now_ms, ttl_ms
-- The mirror of CampaignBudget::renew.
local lease, now, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 'budget', 'l:' .. lease)
if not v[1] then return {'missing'} end
if not v[2] then return {'unknown'} end
local kind, granted, deadline, server = parse_lease(v[2])
if kind == 'C' then return {'closed'} end
deadline = math.max(deadline, now + ttl)
redis.call('HSET', KEYS[1], 'l:' .. lease, kind .. '|' .. fmt(granted) .. '|' .. fmt(deadline) .. '|' .. server)
return {'renewed', fmt(deadline)}
