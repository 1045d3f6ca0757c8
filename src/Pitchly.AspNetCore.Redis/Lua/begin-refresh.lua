-- Writes the fence of a refresh into a token record before its refresh token is presented to Pitchly:
-- "owner ARGV[2] is spending this refresh token until the deadline". Refused while another owner's
-- intent is live, judged on this server's clock, so no instance's clock or timing can let two owners
-- spend one refresh token.
-- KEYS[1] record hash, KEYS[2] version counter
-- ARGV[1] expected version, ARGV[2] owner, ARGV[3] lifetime (ms), ARGV[4] change channel, ARGV[5] hashed key
-- Returns {new version, deadline (ms since the epoch)}; {0, 0} when the version moved on or the record is gone;
-- {-1, deadline} when another owner's intent lives until that deadline.
local current = redis.call('HGET', KEYS[1], 'v')
if (not current) or current ~= ARGV[1] then
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
local version = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'v', version, 'fo', ARGV[2], 'fd', deadline)
redis.call('PUBLISH', ARGV[4], ARGV[5] .. ':' .. version)
return {version, deadline}
