-- KEYS: budget hash, recent servers
-- ARGV: lease, server, want, now_ms, ttl_ms, server_window_ms, unit
-- The mirror of CampaignBudget::allocate and lease_size.
local lease, server = ARGV[1], ARGV[2]
local want, now = tonumber(ARGV[3]), tonumber(ARGV[4])
local ttl, window, unit = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local v = redis.call('HMGET', KEYS[1], 'budget', 'remaining', 'l:' .. lease, 's:' .. server)
if not v[1] then return {'missing'} end
if want < 0 then return {'negative'} end
local remaining = tonumber(v[2])
local moved = false
if v[3] then
  local kind, granted, deadline = parse_lease(v[3])
  if kind == 'O' then return {'granted', fmt(granted), fmt(deadline)} end
  if kind == 'C' then return {'closed'} end
  -- pending: never granted; its reservation goes back and it is sized as a new request
  remaining = remaining + granted
  moved = true
  redis.call('HDEL', KEYS[1], 'l:' .. lease)
end
local writes = {}
-- record the server as recent, unless it was recorded within the last quarter window
local seen = tonumber(v[4])
if not seen or now - seen >= window / 4 then
  redis.call('ZADD', KEYS[2], fmt(now), server)
  writes[#writes + 1] = 's:' .. server
  writes[#writes + 1] = fmt(now)
end
local amount = 0
-- nothing once less than one impression at its most remains
if want > 0 and remaining >= math.max(unit, 1) then
  amount = math.min(want, remaining)
  local servers = redis.call('ZCARD', KEYS[2])
  -- the count needs to be exact only when the share could bind (sizing::share_may_bind)
  if want * 10 * math.max(servers, 1) > remaining then
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. fmt(now - window))
    servers = redis.call('ZCARD', KEYS[2])
  end
  local share = math.floor(remaining / (math.max(servers, 1) * 10))
  amount = math.min(amount, math.max(share, math.max(unit, 1)))
end
local deadline = now + ttl
if amount > 0 then
  remaining = remaining - amount
  moved = true
  writes[#writes + 1] = 'l:' .. lease
  writes[#writes + 1] = 'O|' .. fmt(amount) .. '|' .. fmt(deadline) .. '|' .. server
end
if moved then
  writes[#writes + 1] = 'remaining'
  writes[#writes + 1] = fmt(remaining)
end
if #writes > 0 then redis.call('HSET', KEYS[1], unpack(writes)) end
if amount > 0 then return {'granted', fmt(amount), fmt(deadline)} end
return {'exhausted'}
