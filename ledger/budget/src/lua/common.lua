-- Shared by every budget script (prepended to each). A campaign's budget is one hash, KEYS[1]:
--   budget, remaining, spent         integer micros
--   version                          the ledger's version of the budget (see install.lua)
--   l:<lease>                        "O|granted|deadline|server" while open ("P|want|..." while
--                                    pending: a request a rebuild found unanswered), then
--                                    "C|granted|spent|S|closed_ms" once settled ("|R|" when reaped,
--                                    "|K|" once counted by its clicks)
--   s:<server>                       when the server was last recorded in the servers set
-- and the recent servers are a sorted set, KEYS[2] (server -> time). Scripts keep their calls
-- to Redis few: the hot ones read with one HMGET and write with one HSET.
-- Amounts are integer micros, times integer milliseconds; Lua's doubles are exact for the sizes
-- the controller accepts (below 2^53).
local function fmt(n) return string.format('%d', n) end

local function parse_lease(value)
  local kind, a, b, rest = string.match(value, '^([OCP])|(%d+)|(%-?%d+)|(.*)$')
  return kind, tonumber(a), tonumber(b), rest
end

-- the "S|closed_ms", "R|closed_ms" or "K|closed_ms" tail of a closed lease
local function parse_closure(rest)
  local how, closed = string.match(rest, '^([SRK])|(%-?%d+)$')
  return how, closed
end
