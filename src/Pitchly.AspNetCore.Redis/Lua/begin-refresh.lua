-- Writes the fence of a refresh into a token record before its refresh token is presented to Pitchly:
-- "owner ARGV[2] is spending this refresh token until the deadline". Refused while another owner's
-- intent is live, judged on this server's clock, so no instance's clock or timing can let two owners
-- spend one refresh token.
-- Not announced: no instance needs to hear of an intent. Its tokens are those already cached everywhere; a waiter at
-- another owner's fence keeps waiting for that owner's tokens, which are announced with their write; and every
-- refresh re-reads the record from Redis under the lock, so a copy cached before the intent is never acted on.
-- KEYS[1] record hash
-- ARGV[1] expected version, ARGV[2] owner, ARGV[3] lifetime (ms)
-- Returns {new version, deadline (ms since the epoch)}; {0, 0} when the version moved on or the record is gone (a
-- tombstone is gone); {-1, deadline} when another owner's intent lives until that deadline.
local current = redis.call('HGET', KEYS[1], 'v')
if (not current) or current ~= ARGV[1] or redis.call('HEXISTS', KEYS[1], 'd') == 0 then
  return {0, 0}
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local owner = redis.call('HGET', KEYS[1], 'fo')
if owner and owner ~= ARGV[2] then
  local deadline = tonumber(redis.call('HGET', KEYS[1], 'fd') or '0')
  if deadline > now then
    return {-1, deadline}
  end
end
local deadline = now + tonumber(ARGV[3])
-- The new version as in set.lua: above the stored one and at least this server's clock in microseconds.
local version = tonumber(time[1]) * 1000000 + tonumber(time[2])
if tonumber(current) >= version then
  version = tonumber(current) + 1
end
local text = string.format('%.0f', version)
redis.call('HSET', KEYS[1], 'v', text, 'fo', ARGV[2], 'fd', string.format('%.0f', deadline))
return {version, deadline}
