/**
 * Lua scripts of the Redis result store: each lifecycle transition is one script, so it is atomic and
 * costs one round trip. Values are a status letter (P R S F C) followed by the record's JSON, so a
 * script reads the state without decoding JSON.
 *
 * Key layout under the prefix `p`: `p t:<id>` record, `p o:<replica>` set of ids the replica owns
 * (unfinished), `p l:<replica>` lease (expires unless renewed), `p replicas` set of replicas holding
 * ownership, `p idx` sorted set of task ids by submission time (for listings; members whose record
 * expired are removed lazily); channels `p d:<id>` (finished record) and `p cancel` (task ids to cancel).
 */

/** Shared Lua helpers: `terminal(letter)`, `put(key, value, ttl)`. */
const HELPERS = `
local function terminal(s) return s == 'S' or s == 'F' or s == 'C' end
local function put(key, value, ttl)
  if tonumber(ttl) > 0 then redis.call('SET', key, value, 'PX', ttl) else redis.call('SET', key, value) end
end
`;

/**
 * Insert if absent. KEYS: record, owner set, index. ARGV: value, ttl ms, id, submission time. Returns
 * the existing value, or nil when stored (an unfinished record is then owned by the caller).
 */
export const INSERT_SCRIPT = `${HELPERS}
local cur = redis.call('GET', KEYS[1])
if cur then return cur end
put(KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3])
if not terminal(string.sub(ARGV[1], 1, 1)) then redis.call('SADD', KEYS[2], ARGV[3]) end
return false
`;

/**
 * A batch's insert, all or nothing. KEYS: owner set, index, then each record's key. ARGV: ttl ms, then
 * per record its id, value and submission time. Returns the values that exist already (nothing is
 * stored then), or an empty list when every record was stored. Commands are issued one record at a
 * time: unpacking thousands of arguments into one call would pass Lua's stack limit.
 */
export const INSERT_MANY_SCRIPT = `${HELPERS}
local existing = {}
for i = 3, #KEYS do
  local cur = redis.call('GET', KEYS[i])
  if cur then existing[#existing + 1] = cur end
end
if #existing > 0 then return existing end
for i = 3, #KEYS do
  local a = (i - 3) * 3 + 2
  put(KEYS[i], ARGV[a + 1], ARGV[1])
  redis.call('ZADD', KEYS[2], ARGV[a + 2], ARGV[a])
  if not terminal(string.sub(ARGV[a + 1], 1, 1)) then redis.call('SADD', KEYS[1], ARGV[a]) end
end
return existing
`;

/**
 * A transition by the record's owner. KEYS: record, owner set, index. ARGV: value, ttl ms, id, finish
 * channel, submission time (a record stored first by its terminal write joins the index).
 * Refused (returns the current value) when the record is already terminal, or unfinished and owned by
 * another replica. A terminal value leaves the owner set and is published. Returns nil when stored.
 */
export const TRANSITION_SCRIPT = `${HELPERS}
local cur = redis.call('GET', KEYS[1])
if cur then
  if terminal(string.sub(cur, 1, 1)) then return cur end
  if redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 0 then return cur end
end
put(KEYS[1], ARGV[1], ARGV[2])
if not cur then redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3]) end
if terminal(string.sub(ARGV[1], 1, 1)) then
  if cur then redis.call('SREM', KEYS[2], ARGV[3]) end
  -- Published even without a prior record: it may have been lost (Redis restarted without persistence)
  -- while replicas still wait for it.
  redis.call('PUBLISH', ARGV[4], ARGV[1])
end
return false
`;

/**
 * Renews this replica's lease. KEYS: lease, replicas set. ARGV: lease ms, replica. Returns 1 when the
 * lease was still held, 0 when it had run out (or never existed).
 */
export const RENEW_SCRIPT = `
local held = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
return held
`;
/**
 * Takes over the unfinished records of every replica whose lease has expired, and forgets the replica.
 * A record that can run here again joins this replica's owner set and is returned: PENDING (it never
 * started: running it elsewhere keeps at-most-once) and RUNNING with attempts left in its retry policy
 * (at-least-once, opted in) — both only when the record carries its spec (the arguments to run it with).
 * Any other unfinished record ends FAILED `Owner replica lost: <replica>` and is published.
 * KEYS: replicas set. ARGV: prefix, now (epoch ms), ttl ms, this replica, status code of the failure.
 * Returns, per lost replica, flattened: replica, failed count, taken count, then the taken values.
 */
export const REAP_SCRIPT = `${HELPERS}
local prefix = ARGV[1]
local mine = prefix .. 'o:' .. ARGV[4]
local out = {}
for _, replica in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if replica ~= ARGV[4] and redis.call('EXISTS', prefix .. 'l:' .. replica) == 0 then
    local owned = prefix .. 'o:' .. replica
    local failed = 0
    local taken = {}
    for _, id in ipairs(redis.call('SMEMBERS', owned)) do
      local key = prefix .. 't:' .. id
      local cur = redis.call('GET', key)
      local letter = cur and string.sub(cur, 1, 1)
      if cur and not terminal(letter) then
        local record = cjson.decode(string.sub(cur, 2))
        local spec = record['spec']
        local runnable = false
        if type(spec) == 'table' then
          if letter == 'P' then
            runnable = true
          else
            local retry = spec['retry']
            local attempts = tonumber(record['attempts']) or 0
            runnable = type(retry) == 'table' and attempts < (tonumber(retry['maxAttempts']) or 1)
          end
        end
        if runnable then
          redis.call('SADD', mine, id)
          table.insert(taken, cur)
        else
          local message = 'Owner replica lost: ' .. replica
          record['status'] = 'FAILED'
          record['result'] = message
          record['failure'] = { code = tonumber(ARGV[5]), message = message }
          record['finishedAt'] = tonumber(ARGV[2])
          record['spec'] = nil
          record['runAfter'] = nil
          local value = 'F' .. cjson.encode(record)
          put(key, value, ARGV[3])
          redis.call('PUBLISH', prefix .. 'd:' .. id, value)
          failed = failed + 1
        end
      end
    end
    redis.call('DEL', owned)
    redis.call('SREM', KEYS[1], replica)
    table.insert(out, replica)
    table.insert(out, failed)
    table.insert(out, #taken)
    for _, value in ipairs(taken) do table.insert(out, value) end
  end
end
return out
`;

/**
 * Removes from the index the oldest members whose record is gone (expired). KEYS: index. ARGV: prefix,
 * how many of the oldest to look at. Returns how many were removed.
 */
export const SWEEP_INDEX_SCRIPT = `
local removed = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)) do
  if redis.call('EXISTS', ARGV[1] .. 't:' .. id) == 0 then
    redis.call('ZREM', KEYS[1], id)
    removed = removed + 1
  end
end
return removed
`;
