-- KEYS: budget, open leases, closed leases
-- ARGV: lease, spent
-- The mirror of CampaignBudget::settle.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local lease, spent = ARGV[1], tonumber(ARGV[2])
if spent < 0 then return {'negative'} end
local open = redis.call('HGET', KEYS[2], lease)
if open then
  local _, granted = parse_open(open)
  if spent > granted then return {'overspent', fmt(granted), fmt(spent)} end
  redis.call('HDEL', KEYS[2], lease)
  redis.call('HINCRBY', KEYS[1], 'remaining', fmt(granted - spent))
  redis.call('HINCRBY', KEYS[1], 'spent', fmt(spent))
  redis.call('HSET', KEYS[3], lease, fmt(granted) .. '|' .. fmt(spent) .. '|S')
  return {'settled', fmt(granted - spent)}
end
local closed = redis.call('HGET', KEYS[3], lease)
if not closed then return {'unknown'} end
local granted, recorded, how = parse_closed(closed)
if spent > granted then return {'overspent', fmt(granted), fmt(spent)} end
if how == 'S' then
  if spent == recorded then return {'already'} end
  return {'conflict', fmt(recorded), fmt(spent)}
end
if spent <= recorded then
  redis.call('HSET', KEYS[3], lease, fmt(granted) .. '|' .. fmt(recorded) .. '|S')
  return {'already'}
end
-- reaped with less than the server reports: the difference is late spend
local late = spent - recorded
local covered = math.min(late, hnum(KEYS[1], 'remaining'))
redis.call('HINCRBY', KEYS[1], 'remaining', fmt(-covered))
redis.call('HINCRBY', KEYS[1], 'spent', fmt(covered))
redis.call('HSET', KEYS[3], lease, fmt(granted) .. '|' .. fmt(recorded + covered) .. '|S')
return {'late', fmt(late), fmt(late - covered)}
