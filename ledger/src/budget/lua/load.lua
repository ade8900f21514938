-- KEYS: budget, open leases, closed leases, recent servers
-- One consistent read of a campaign's state, or nothing when Redis has none.
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
return {
  redis.call('HGETALL', KEYS[1]),
  redis.call('HGETALL', KEYS[2]),
  redis.call('HGETALL', KEYS[3]),
  redis.call('ZRANGE', KEYS[4], 0, -1, 'WITHSCORES'),
}
