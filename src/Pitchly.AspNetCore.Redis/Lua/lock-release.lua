-- Releases a refresh lock, only if the caller still owns it (a holder whose lease expired must not
-- release the lock of the holder that came after it), and wakes the instances waiting for it: announced only when an
-- acquisition that waits has marked the lock since the last announced release (lock-acquire.lua), as no one else
-- needs to hear of it.
-- KEYS[1] lock key, KEYS[2] the lock's waiter mark; ARGV[1] owner, ARGV[2] announcement channel, ARGV[3] hashed key
-- (for the announcement), ARGV[4] '1' to announce with SPUBLISH (sharded pub/sub), '' with PUBLISH
-- Returns 1 when released, 0 when the lock was not the caller's.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  if redis.call('DEL', KEYS[2]) == 1 then
    redis.call(ARGV[4] == '1' and 'SPUBLISH' or 'PUBLISH', ARGV[2], ARGV[3])
  end
  return 1
end
return 0
