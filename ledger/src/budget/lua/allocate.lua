-- KEYS: budget, open leases, closed leases, recent servers
-- ARGV: lease, server, want, now_ms, ttl_ms, server_window_ms, max_price
-- The mirror of CampaignBudget::allocate and lease_size.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local lease, server = ARGV[1], ARGV[2]
local want, now = tonumber(ARGV[3]), tonumber(ARGV[4])
local ttl, window, max_price = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
if want < 0 then return {'negative'} end
local open = redis.call('HGET', KEYS[2], lease)
if open then
  local _, granted, deadline = parse_open(open)
  return {'granted', fmt(granted), fmt(deadline)}
end
if redis.call('HEXISTS', KEYS[3], lease) == 1 then return {'closed'} end

redis.call('ZADD', KEYS[4], fmt(now), server)
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. fmt(now - window))
local servers = redis.call('ZCARD', KEYS[4])

local remaining, budget = hnum(KEYS[1], 'remaining'), hnum(KEYS[1], 'budget')
local amount = 0
if want > 0 and remaining > 0 then
  amount = math.min(want, remaining)
  if remaining * 10 < budget then
    local share = math.floor(remaining / (math.max(servers, 1) * 10))
    local at_least = math.min(math.max(max_price, 1), remaining)
    amount = math.min(amount, math.max(share, at_least))
  end
end
if amount == 0 then return {'exhausted'} end

local deadline = now + ttl
redis.call('HINCRBY', KEYS[1], 'remaining', fmt(-amount))
redis.call('HSET', KEYS[2], lease, server .. '|' .. fmt(amount) .. '|' .. fmt(deadline))
return {'granted', fmt(amount), fmt(deadline)}
