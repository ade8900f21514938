-- KEYS: budget hash
-- ARGV: lease
-- The mirror of CampaignBudget::release_pending: gives back a pending lease's reservation.
local v = redis.call('HMGET', KEYS[1], 'remaining', 'l:' .. ARGV[1])
if not v[1] then return {'missing'} end
if not v[2] then return {'none'} end
local kind, want = parse_lease(v[2])
if kind ~= 'P' then return {'none'} end
redis.call('HDEL', KEYS[1], 'l:' .. ARGV[1])
redis.call('HSET', KEYS[1], 'remaining', fmt(tonumber(v[1]) + want))
return {'released'}
