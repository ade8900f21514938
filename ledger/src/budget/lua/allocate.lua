-- KEYS: budget hash, recent servers
-- ARGV: lease, server, want, now_ms, ttl_ms, server_window_ms, max_price
-- The mirror of CampaignBudget::allocate and lease_size.
local lease, server = ARGV[1], ARGV[2]
local want, now = tonumber(ARGV[3]), tonumber(ARGV[4])
local ttl, window, max_price = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local v = redis.call('HMGET', KEYS[1], 'budget', 'remaining', 'l:' .. lease, 's:' .. server)
if not v[1] then return {'missing'} end
if want < 0 then return {'negative'} end
if v[3] then
  local kind, granted, deadline = parse_lease(v[3])
  if kind == 'O' then return {'granted', fmt(granted), fmt(deadline)} end
  return {'closed'}
end
local budget, remaining = tonumber(v[1]), tonumber(v[2])
local writes = {}
-- record the server as recent, unless it was recorded within the last quarter window
local seen = tonumber(v[4])
if not seen or now - seen >= window / 4 then
  redis.call('ZADD', KEYS[2], fmt(now), server)
  writes[#writes + 1] = 's:' .. server
  writes[#writes + 1] = fmt(now)
end
local amount = 0
if want > 0 and remaining > 0 then
  amount = math.min(want, remaining)
  if remaining * 10 < budget then
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. fmt(now - window))
    local servers = redis.call('ZCARD', KEYS[2])
    local share = math.floor(remaining / (math.max(servers, 1) * 10))
    local at_least = math.min(math.max(max_price, 1), remaining)
    amount = math.min(amount, math.max(share, at_least))
  end
end
if amount > 0 then
  local deadline = now + ttl
  writes[#writes + 1] = 'remaining'
  writes[#writes + 1] = fmt(remaining - amount)
  writes[#writes + 1] = 'l:' .. lease
  writes[#writes + 1] = 'O|' .. fmt(amount) .. '|' .. fmt(deadline) .. '|' .. server
  redis.call('HSET', KEYS[1], unpack(writes))
  return {'granted', fmt(amount), fmt(deadline)}
end
if #writes > 0 then redis.call('HSET', KEYS[1], unpack(writes)) end
return {'exhausted'}
