-- KEYS: budget, open leases, closed leases, recent servers
-- ARGV: budget, remaining, spent, then pairs of lease and "server|granted|deadline"
-- Puts a campaign's state in place when Redis has none (a new campaign, or a rebuild from the
-- ledger after Redis lost it). Never overwrites: a state already there wins.
if redis.call('EXISTS', KEYS[1]) == 1 then return {'exists'} end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
redis.call('HSET', KEYS[1], 'budget', ARGV[1], 'remaining', ARGV[2], 'spent', ARGV[3])
for i = 4, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
return {'installed'}
