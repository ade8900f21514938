-- KEYS: budget hash, recent servers, install claim
-- ARGV: budget, remaining, spent, version, claim ('' for none), then pairs of lease and its
-- value ("O|granted|deadline|server", "P|want|deadline|server" or "C|granted|spent|S|closed_ms")
-- Puts a campaign's state in place when Redis has none (a new campaign, or a rebuild from the
-- ledger after Redis lost it). A state already there is never replaced: when its version is
-- older, only its budget is resized to this one (the difference moves `remaining`; open leases
-- and spend stay), as CampaignBudget::resize does; otherwise it is left alone. Under a claim,
-- a missing state is installed only while the claim still holds: Redis losing the campaign
-- loses the claim too, and a view read before that loss may miss grants made since.
local claim = ARGV[5]
local function release()
  if claim ~= '' and redis.call('GET', KEYS[3]) == claim then redis.call('DEL', KEYS[3]) end
end
local v = redis.call('HMGET', KEYS[1], 'budget', 'remaining', 'version')
if v[1] then
  release()
  local version = tonumber(v[3]) or 0
  if tonumber(ARGV[4]) <= version then return {'current'} end
  -- (below what is spent and out in open leases, `remaining` goes below zero: owed)
  local old, remaining = tonumber(v[1]), tonumber(v[2])
  local budget = math.max(tonumber(ARGV[1]), 0)
  redis.call('HSET', KEYS[1], 'budget', fmt(budget), 'version', ARGV[4],
    'remaining', fmt(remaining + budget - old))
  return {'resized'}
end
if claim ~= '' and redis.call('GET', KEYS[3]) ~= claim then return {'stale'} end
release()
redis.call('DEL', KEYS[1], KEYS[2])
local fields = {'budget', ARGV[1], 'remaining', ARGV[2], 'spent', ARGV[3], 'version', ARGV[4]}
for i = 6, #ARGV, 2 do
  fields[#fields + 1] = 'l:' .. ARGV[i]
  fields[#fields + 1] = ARGV[i + 1]
end
redis.call('HSET', KEYS[1], unpack(fields))
return {'installed'}
