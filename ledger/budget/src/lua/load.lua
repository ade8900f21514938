-- KEYS: budget hash, recent servers
-- One consistent read of a campaign's state, or nothing when Redis has none.
if redis.call('HEXISTS', KEYS[1], 'budget') == 0 then return {} end
return { redis.call('HGETALL', KEYS[1]), redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES') }
