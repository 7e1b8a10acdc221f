// The store's Lua scripts. Redis runs each one atomically, so a check and the write it guards
// cannot be split by another client. Every key a script names shares the store's hash tag
// (`{prefix:namespace}`), so each script runs on one node of a Redis Cluster too.

/**
 * Takes the lock if it is free: `SET lock owner NX PX lease`. Answers `{1, fence}` (the host's
 * fence counter, which every write moves on) or `{0, pttl}` (how long the holder's lease lasts).
 * KEYS: lock, fences. ARGV: owner, lease ms, host.
 */
export const acquire = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, tonumber(redis.call('HGET', KEYS[2], ARGV[3]) or '0')}
end
return {0, redis.call('PTTL', KEYS[1])}
`;

/**
 * Extends the lease, only if we still hold the lock (compare, then PEXPIRE). 1 or 0.
 * KEYS: lock. ARGV: owner, lease ms.
 */
export const extend = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`;

/**
 * Releases the lock, only if we still hold it (compare-and-delete), and tells waiters.
 * KEYS: lock. ARGV: owner, channel, message.
 */
export const release = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], ARGV[3])
  return 1
end
return 0
`;

/**
 * Reads the entry under the lock: `{1, fence, entry}`, or `{0}` when the lock is not ours any
 * more. KEYS: lock, entry, fences. ARGV: owner, host.
 */
export const readLocked = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {0} end
return {1, tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0'), redis.call('GET', KEYS[2])}
`;

/**
 * The fenced write: only while we hold the lock (-1 otherwise) and only if the host's fence is
 * still the one we saw (-2 otherwise: something else wrote or removed the entry meanwhile) — or
 * the one it was when we took the lock: a failover promoted a replica that had our lock but not
 * our last write (only the lock's holder moves the fence, and the lock is still ours), which is
 * written again rather than lost.
 * Moves the fence on, keeps the host in the index, expires the entry with its longest-lived
 * token, and announces the change — with the entry itself when it is sealed (`e`: a reader
 * with the key takes it from the notice instead of reading it back). Answers the new fence.
 * KEYS: lock, entry, fences, hosts. ARGV: owner, fence, entry, expire-at ms (0: never), host,
 * channel, origin, announce ('0': the caller announces the change itself, after WAIT;
 * '1': without the entry; '2': with it), the fence when the lock was taken.
 */
export const writeLocked = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local fence = tonumber(redis.call('HGET', KEYS[3], ARGV[5]) or '0')
if fence ~= tonumber(ARGV[2]) and fence ~= tonumber(ARGV[9]) then return -2 end
redis.call('SET', KEYS[2], ARGV[3])
if tonumber(ARGV[4]) > 0 then redis.call('PEXPIREAT', KEYS[2], ARGV[4]) end
redis.call('SADD', KEYS[4], ARGV[5])
fence = redis.call('HINCRBY', KEYS[3], ARGV[5], 1)
if ARGV[8] == '1' then
  redis.call('PUBLISH', ARGV[6], cjson.encode({t = 'changed', h = ARGV[5], o = ARGV[7]}))
elseif ARGV[8] == '2' then
  redis.call('PUBLISH', ARGV[6], cjson.encode({t = 'changed', h = ARGV[5], o = ARGV[7], e = ARGV[3]}))
end
return fence
`;

/**
 * Removes the entry under the lock (-1 when the lock is not ours), moves the fence on and
 * announces it. Answers 1 when there was an entry. KEYS: lock, entry, fences, hosts.
 * ARGV: owner, host, channel, origin.
 */
export const removeLocked = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local existed = redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[4], ARGV[2])
redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
redis.call('PUBLISH', ARGV[3], cjson.encode({t = 'changed', h = ARGV[2], o = ARGV[4]}))
return existed
`;

/**
 * Moves an unreadable entry aside (only if it is still the text we read), for 30 days.
 * KEYS: entry, aside, hosts. ARGV: the text read, host.
 */
export const quarantine = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('PEXPIRE', KEYS[2], 2592000000)
redis.call('SREM', KEYS[3], ARGV[2])
return 1
`;
