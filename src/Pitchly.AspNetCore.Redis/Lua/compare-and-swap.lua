-- Writes a token record only if the stored version is still the one the writer read,
-- so a writer holding stale tokens never overwrites newer ones. Clears the record's refresh intent.
-- KEYS[1] record hash, KEYS[2] version counter
-- ARGV[1] expected version ('0': only if there is no record), ARGV[2] protected record,
-- ARGV[3] time to live (ms), ARGV[4] change channel, ARGV[5] hashed key (for the notification)
-- Returns the record's new version, or 0 when the stored version had moved on.
local current = redis.call('HGET', KEYS[1], 'v')
if ARGV[1] == '0' then
  if current then
    return 0
  end
elseif current ~= ARGV[1] then
  return 0
end
local version = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'v', version, 'd', ARGV[2])
redis.call('HDEL', KEYS[1], 'fo', 'fd')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5] .. ':' .. version)
return version
