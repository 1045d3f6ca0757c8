-- Writes a token record unconditionally (a new sign-in replaces older tokens), clearing any refresh intent.
-- KEYS[1] record hash, KEYS[2] version counter
-- ARGV[1] protected record, ARGV[2] time to live (ms), ARGV[3] change channel, ARGV[4] hashed key (for the notification)
-- Returns the record's new version: from one counter shared by every key, so a version never repeats for a key.
local version = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'v', version, 'd', ARGV[1])
redis.call('HDEL', KEYS[1], 'fo', 'fd')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4] .. ':' .. version)
return version
