-- Run on the primary after a write of a token record returned: tells which replication stream the write is in and
-- how far into it, so that a replica's acknowledged offset can show the write reached it.
-- KEYS[1] record hash; KEYS[2] (optional) a key of the record's bucket to write to, when the replica wait runs on a
-- connection of its own: WAIT counts acknowledgements of its own connection's last write, so that connection writes
-- once after the offset read here (a short-lived marker, no token in it)
-- ARGV[1] the version written, ARGV[2] the primary's replication id seen before the write ('' if not known)
-- Returns {replication id, replication offset}: the offset covers every write this primary applied before this script,
-- the record's among them. Returns false when the record no longer holds the version written and the replication id is
-- not the one seen before the write: a failover came in between, and the write may not have survived it.
local info = redis.call('INFO', 'replication')
local id = string.match(info, 'master_replid:(%w+)')
local offset = string.match(info, 'master_repl_offset:(%d+)')
if (not id) or (not offset) then
  return redis.error_reply('PITCHLY no replication section in INFO')
end
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] and id ~= ARGV[2] then
  return false
end
if KEYS[2] then
  redis.call('SET', KEYS[2], '1', 'PX', 60000)
end
return {id, offset}
