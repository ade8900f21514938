-- KEYS: budget hash
-- ARGV: cursor, before_ms, count
-- One step of forgetting closed leases closed before before_ms (CampaignBudget::forget_closed):
-- scans about `count` fields from `cursor`, so no single call blocks Redis for long. Returns
-- the next cursor ("0" when the scan is done) and how many leases it forgot.
local scan = redis.call('HSCAN', KEYS[1], ARGV[1], 'MATCH', 'l:*', 'COUNT', ARGV[3])
local fields, before, old = scan[2], tonumber(ARGV[2]), {}
for i = 1, #fields, 2 do
  local kind, _, _, rest = parse_lease(fields[i + 1])
  if kind == 'C' then
    local _, closed_at = parse_closure(rest)
    if tonumber(closed_at) < before then old[#old + 1] = fields[i] end
  end
end
if #old > 0 then redis.call('HDEL', KEYS[1], unpack(old)) end
return {scan[1], #old}
