-- KEYS: budget, open leases, closed leases
-- ARGV: lease, now_ms, ttl_ms
-- The mirror of CampaignBudget::renew.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local lease, now, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local open = redis.call('HGET', KEYS[2], lease)
if open then
  local server, granted, deadline = parse_open(open)
  deadline = math.max(deadline, now + ttl)
  redis.call('HSET', KEYS[2], lease, server .. '|' .. fmt(granted) .. '|' .. fmt(deadline))
  return {'renewed', fmt(deadline)}
end
if redis.call('HEXISTS', KEYS[3], lease) == 1 then return {'closed'} end
return {'unknown'}
