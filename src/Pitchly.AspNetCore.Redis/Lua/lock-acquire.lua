-- Takes a refresh lock when free (SET NX with a lease); when it is held and the caller will wait for its release, marks
-- the lock as waited for in the same step, so the holder's release (lock-release.lua) announces it. Atomic: a release
-- either comes before the attempt (which then takes the lock) or sees the mark, so no waiter misses its wake-up.
-- KEYS[1] lock key, KEYS[2] the lock's waiter mark
-- ARGV[1] owner, ARGV[2] lease (ms), ARGV[3] '1' when the caller waits for a release, ARGV[4] the mark's lifetime (ms):
-- longer than a waiter's pause between two attempts, each of which marks again
-- Returns 1 when taken, 0 when held by another owner.
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
if ARGV[3] == '1' then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[4])
end
return 0
