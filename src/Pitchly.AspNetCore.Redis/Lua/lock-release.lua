-- Releases a refresh lock, only if the caller still owns it (a holder whose lease expired must not
-- release the lock of the holder that came after it), and wakes the instances waiting for it.
-- KEYS[1] lock key; ARGV[1] owner, ARGV[2] announcement channel, ARGV[3] hashed key (for the announcement),
-- ARGV[4] '1' to announce with SPUBLISH (sharded pub/sub), '' with PUBLISH
-- Returns 1 when released, 0 when the lock was not the caller's.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call(ARGV[4] == '1' and 'SPUBLISH' or 'PUBLISH', ARGV[2], ARGV[3])
  return 1
end
return 0
