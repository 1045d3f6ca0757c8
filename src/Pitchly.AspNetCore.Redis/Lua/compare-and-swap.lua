-- Writes a token record only if the stored version is still the one the writer read,
-- so a writer holding stale tokens never overwrites newer ones. Clears the record's refresh intent.
-- The announcement also wakes every acquisition waiting for the record's refresh lock, so it consumes the lock's waiter
-- mark: the release that follows is announced only to a waiter that marked the lock after this write (lock-acquire.lua).
-- KEYS[1] record hash, KEYS[2] (optional) the waiter mark of the record's refresh lock
-- ARGV[1] expected version ('0': only if there is no record; a tombstone left by a removal counts as none),
-- ARGV[2] protected record, ARGV[3] time to live (ms), ARGV[4] announcement channel, ARGV[5] hashed key (for the
-- announcement), ARGV[6] '1' to announce with SPUBLISH (sharded pub/sub), '' with PUBLISH
-- Returns the record's new version (see set.lua), or 0 when the stored version had moved on.
local current = redis.call('HGET', KEYS[1], 'v')
local live = current and redis.call('HEXISTS', KEYS[1], 'd') == 1
if ARGV[1] == '0' then
  if live then
    return 0
  end
elseif (not live) or current ~= ARGV[1] then
  return 0
end
local time = redis.call('TIME')
local version = tonumber(time[1]) * 1000000 + tonumber(time[2])
if current and tonumber(current) >= version then
  version = tonumber(current) + 1
end
local text = string.format('%.0f', version)
redis.call('HSET', KEYS[1], 'v', text, 'd', ARGV[2])
redis.call('HDEL', KEYS[1], 'fo', 'fd')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if KEYS[2] then
  redis.call('DEL', KEYS[2])
end
redis.call(ARGV[6] == '1' and 'SPUBLISH' or 'PUBLISH', ARGV[4], ARGV[5] .. ':' .. text)
return version
