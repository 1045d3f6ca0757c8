-- Takes a refresh lock when free (SET NX with a lease); when it is held and the caller will wait for its release, marks
-- the lock as waited for in the same step, so the holder's release (lock-release.lua) announces it. Atomic: a release
-- either comes before the attempt (which then takes the lock) or sees the mark, so no waiter misses its wake-up.
-- A caller that knows the record's version marks only while the record is still at it: a write of the record is
-- announced too and consumes the marks (set.lua, compare-and-swap.lua, remove.lua), so a waiter that marked before it
-- is woken by it; one whose record moved on reads it again first, and may not need the lock any more.
-- KEYS[1] lock key, KEYS[2] the lock's waiter mark, KEYS[3] the record (same bucket, so same cluster slot)
-- ARGV[1] owner, ARGV[2] lease (ms), ARGV[3] '1' when the caller waits for a release, ARGV[4] the mark's lifetime (ms):
-- longer than a waiter's pause between two attempts, each of which marks again; ARGV[5] the record's version the
-- caller read ('0': mark whatever the version)
-- Returns 1 when taken, 0 when held by another owner, 2 when held and the record is no longer at ARGV[5] (not marked).
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
if ARGV[3] == '1' then
  if ARGV[5] and ARGV[5] ~= '0' and redis.call('HGET', KEYS[3], 'v') ~= ARGV[5] then
    return 2
  end
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[4])
end
return 0
