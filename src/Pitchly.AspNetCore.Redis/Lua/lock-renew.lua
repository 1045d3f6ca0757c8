-- Extends a refresh lock's lease, only while the caller still owns it.
-- KEYS[1] lock key; ARGV[1] owner, ARGV[2] lease (ms)
-- Returns 1 when renewed, 0 when the lock is gone or owned by another holder.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
