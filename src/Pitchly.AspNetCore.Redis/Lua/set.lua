-- Writes a token record unconditionally (a new sign-in replaces older tokens), clearing any refresh intent. Its
-- announcement wakes the lock's waiters too, so it consumes their mark (see compare-and-swap.lua).
-- KEYS[1] record hash, KEYS[2] (optional) the waiter mark of the record's refresh lock
-- ARGV[1] protected record, ARGV[2] time to live (ms), ARGV[3] announcement channel, ARGV[4] hashed key (for the
-- announcement), ARGV[5] '1' to announce with SPUBLISH (sharded pub/sub), '' with PUBLISH
-- Returns the record's new version: above the one stored (a tombstone's too) and at least this server's clock in
-- microseconds, so a version never repeats for a key, even across a removal, without a key shared by every record.
local time = redis.call('TIME')
local version = tonumber(time[1]) * 1000000 + tonumber(time[2])
local current = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if current >= version then
  version = current + 1
end
-- Formatted as an integer: Lua's tostring would round a number of 16 digits.
local text = string.format('%.0f', version)
redis.call('HSET', KEYS[1], 'v', text, 'd', ARGV[1])
redis.call('HDEL', KEYS[1], 'fo', 'fd')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if KEYS[2] then
  redis.call('DEL', KEYS[2])
end
redis.call(ARGV[5] == '1' and 'SPUBLISH' or 'PUBLISH', ARGV[3], ARGV[4] .. ':' .. text)
return version
