-- KEYS: budget hash, recent servers
-- ARGV: budget, remaining, spent, then pairs of lease and "granted|deadline|server"
-- Puts a campaign's state in place when Redis has none (a new campaign, or a rebuild from the
-- ledger after Redis lost it). Never overwrites: a state already there wins.
if redis.call('HEXISTS', KEYS[1], 'budget') == 1 then return {'exists'} end
redis.call('DEL', KEYS[1], KEYS[2])
local fields = {'budget', ARGV[1], 'remaining', ARGV[2], 'spent', ARGV[3]}
for i = 4, #ARGV, 2 do
  fields[#fields + 1] = 'l:' .. ARGV[i]
  fields[#fields + 1] = 'O|' .. ARGV[i + 1]
end
redis.call('HSET', KEYS[1], unpack(fields))
return {'installed'}
