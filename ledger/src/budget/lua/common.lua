-- Shared by every budget script (prepended to each). Amounts are integer micros and times integer
-- milliseconds; Lua numbers are doubles, exact for the sizes the controller accepts (below 2^53).
local function fmt(n) return string.format('%d', n) end

-- an open lease: "server|granted|deadline"
local function parse_open(value)
  local server, granted, deadline = string.match(value, '^(.*)|(%d+)|(%-?%d+)$')
  return server, tonumber(granted), tonumber(deadline)
end

-- a closed lease: "granted|spent|S" (settled) or "...|R" (reaped)
local function parse_closed(value)
  local granted, spent, how = string.match(value, '^(%d+)|(%d+)|([SR])$')
  return tonumber(granted), tonumber(spent), how
end

local function hnum(key, field) return tonumber(redis.call('HGET', key, field)) end
