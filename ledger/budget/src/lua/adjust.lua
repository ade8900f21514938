-- KEYS: budget hash
-- ARGV: lease, counted
-- The mirror of CampaignBudget::adjust: counts a per-click lease by its clicks (an open lease's
-- grant grows to at least `counted`; a closed lease counts exactly `counted`).
local lease, counted = ARGV[1], tonumber(ARGV[2])
local v = redis.call('HMGET', KEYS[1], 'remaining', 'spent', 'l:' .. lease)
if not v[1] then return {'missing'} end
if counted < 0 then return {'negative'} end
if not v[3] then return {'gone'} end
local kind, granted, b, rest = parse_lease(v[3])
if kind ~= 'C' then
  local delta = counted - granted
  if delta <= 0 then return {'unchanged'} end
  redis.call('HSET', KEYS[1], 'remaining', fmt(tonumber(v[1]) - delta),
    'l:' .. lease, kind .. '|' .. fmt(counted) .. '|' .. fmt(b) .. '|' .. rest)
  return {'changed', fmt(delta)}
end
-- counted by its clicks from now on (a settle of it changes nothing)
local _, closed_at = parse_closure(rest)
local record = 'C|' .. fmt(granted) .. '|' .. fmt(counted) .. '|K|' .. closed_at
local delta = counted - b
if delta == 0 then
  redis.call('HSET', KEYS[1], 'l:' .. lease, record)
  return {'unchanged'}
end
redis.call('HSET', KEYS[1],
  'remaining', fmt(tonumber(v[1]) - delta), 'spent', fmt(tonumber(v[2]) + delta),
  'l:' .. lease, record)
return {'changed', fmt(delta)}
