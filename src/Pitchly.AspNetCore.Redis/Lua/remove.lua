-- Removes a token record; with an expected version, only if the stored version still equals it
-- (a failed refresh never deletes tokens a newer sign-in stored).
-- KEYS[1] record hash, KEYS[2] version counter
-- ARGV[1] expected version ('' to remove unconditionally), ARGV[2] change channel, ARGV[3] hashed key
-- Returns 1 when a record was removed, 0 otherwise. The removal takes a version of its own, announced so that
-- every instance drops its cached copy.
local current = redis.call('HGET', KEYS[1], 'v')
if not current then
  return 0
end
if ARGV[1] ~= '' and current ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
local version = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[2], ARGV[3] .. ':' .. version)
return 1
