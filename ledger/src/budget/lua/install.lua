-- KEYS: budget hash, recent servers
-- ARGV: budget, remaining, spent, version, then pairs of lease and its value ("O|granted|
-- deadline|server", "P|want|deadline|server" or "C|granted|spent|S|closed_ms")
-- Puts a campaign's state in place when Redis has none (a new campaign, or a rebuild from the
-- ledger after Redis lost it). A state already there is never replaced: when its version is
-- older, only its budget is resized to this one (the difference moves `remaining`; open leases
-- and spend stay), as CampaignBudget::resize does; otherwise it is left alone.
local v = redis.call('HMGET', KEYS[1], 'budget', 'remaining', 'version')
if v[1] then
  local version = tonumber(v[3]) or 0
  if tonumber(ARGV[4]) <= version then return {'current'} end
  -- never below what is spent and out in open leases (budget - remaining)
  local old, remaining = tonumber(v[1]), tonumber(v[2])
  local budget = math.max(tonumber(ARGV[1]), old - remaining)
  redis.call('HSET', KEYS[1], 'budget', fmt(budget), 'version', ARGV[4],
    'remaining', fmt(remaining + budget - old))
  return {'resized'}
end
redis.call('DEL', KEYS[1], KEYS[2])
local fields = {'budget', ARGV[1], 'remaining', ARGV[2], 'spent', ARGV[3], 'version', ARGV[4]}
for i = 5, #ARGV, 2 do
  fields[#fields + 1] = 'l:' .. ARGV[i]
  fields[#fields + 1] = ARGV[i + 1]
end
redis.call('HSET', KEYS[1], unpack(fields))
return {'installed'}
