-- KEYS: budget hash
-- ARGV: lease, spent, now_ms
-- The mirror of CampaignBudget::settle.
local lease, spent, now = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local v = redis.call('HMGET', KEYS[1], 'remaining', 'spent', 'l:' .. lease)
if not v[1] then return {'missing'} end
if spent < 0 then return {'negative'} end
if not v[3] then return {'unknown'} end
local remaining, total = tonumber(v[1]), tonumber(v[2])
local kind, granted, b, rest = parse_lease(v[3])
if spent > granted then return {'overspent', fmt(granted), fmt(spent)} end
local field = 'l:' .. lease
if kind ~= 'C' then
  redis.call('HSET', KEYS[1],
    'remaining', fmt(remaining + granted - spent), 'spent', fmt(total + spent),
    field, 'C|' .. fmt(granted) .. '|' .. fmt(spent) .. '|S|' .. now)
  return {'settled', fmt(granted - spent)}
end
local recorded = b
local how, closed_at = parse_closure(rest)
-- counted by its clicks: what its server reports changes nothing
if how == 'K' then return {'already'} end
if how == 'S' then
  if spent == recorded then return {'already'} end
  return {'conflict', fmt(recorded), fmt(spent)}
end
if spent <= recorded then
  redis.call('HSET', KEYS[1], field, 'C|' .. fmt(granted) .. '|' .. fmt(recorded) .. '|S|' .. closed_at)
  return {'already'}
end
-- reaped with less than the server reports: the difference is late spend
local late = spent - recorded
local covered = math.max(math.min(late, remaining), 0)
redis.call('HSET', KEYS[1],
  'remaining', fmt(remaining - covered), 'spent', fmt(total + covered),
  field, 'C|' .. fmt(granted) .. '|' .. fmt(recorded + covered) .. '|S|' .. closed_at)
return {'late', fmt(late), fmt(late - covered)}
