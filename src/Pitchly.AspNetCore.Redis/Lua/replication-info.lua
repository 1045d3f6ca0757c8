-- Reads the replication section of INFO on the primary that owns KEYS[1] (a script, so that it is routed like the
-- record's own writes and needs no admin rights on the connection).
-- KEYS[1] record hash
-- Returns the text of INFO replication.
return redis.call('INFO', 'replication')
