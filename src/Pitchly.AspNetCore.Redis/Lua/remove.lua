-- Removes a token record; with an expected version, only if the stored version still equals it
-- (a failed refresh never deletes tokens a newer sign-in stored).
-- KEYS[1] record hash, KEYS[2] (optional) the waiter mark of the record's refresh lock, consumed by the announcement
-- (see compare-and-swap.lua)
-- ARGV[1] expected version ('' to remove unconditionally), ARGV[2] time to live of the tombstone (ms),
-- ARGV[3] announcement channel, ARGV[4] hashed key, ARGV[5] '1' to announce with SPUBLISH, '' with PUBLISH
-- Returns 1 when a record was removed, 0 otherwise. The removal takes a version of its own (see set.lua), announced
-- so that every instance drops its cached copy, and leaves it behind as a tombstone (only 'v'), which reads treat as
-- absent: a record created again continues above it even if this server's clock went back meanwhile.
local current = redis.call('HGET', KEYS[1], 'v')
if (not current) or redis.call('HEXISTS', KEYS[1], 'd') == 0 then
  return 0
end
if ARGV[1] ~= '' and current ~= ARGV[1] then
  return 0
end
local time = redis.call('TIME')
local version = tonumber(time[1]) * 1000000 + tonumber(time[2])
if tonumber(current) >= version then
  version = tonumber(current) + 1
end
local text = string.format('%.0f', version)
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', text)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if KEYS[2] then
  redis.call('DEL', KEYS[2])
end
redis.call(ARGV[5] == '1' and 'SPUBLISH' or 'PUBLISH', ARGV[3], ARGV[4] .. ':' .. text)
return 1
