/**
 * Lua scripts of the Redis counter store. Each runs atomically inside Redis, so check-and-write can never be split
 * by another gateway process. Loaded with ioredis defineCommand (EVALSHA, falling back to EVAL after a SCRIPT FLUSH
 * or a Redis restart).
 *
 * Layout under the store prefix P (the caller's keys K are opaque strings):
 *   P c:K   hash   c = committed, r = reserved (sum of live holds), x = logical expiry (ms, store clock),
 *                  #<reservation id> = that reservation's hold on this counter
 *   P z:K   zset   reservation ids holding this counter, scored by their expiry
 *   P r:ID  hash   e = the reservation's expiry, k:<K> for every counter it holds
 *   P w:K   hash   rate window: w = window ms, o = oldest live bucket, t = units in live buckets, <j> = bucket j
 *   P l:K   zset   concurrency leases scored by expiry
 *   P seeded       set once the counters were rebuilt from the database
 *
 * Time: ARGV[1] is the caller's clock reading (ms), or −1 to read Redis TIME (one clock for every process). All
 * logic compares against that time; Redis TTLs (PEXPIRE, relative, a grace minute later than the logical expiry)
 * only reclaim memory. Numbers go back to Redis through int() (string.format %d): Lua's tostring would print 1e+15.
 * Money comes back to JS as decimal strings too: ioredis 6's RESP decoder rounds integer replies within 48 of 2^53
 * (it adds the ASCII code before subtracting '0'), and strings parse exactly with Number().
 *
 * Scripts reach reservation records' counters by names built inside the script (P c:K from the record), which
 * standalone Redis (and Sentinel) allows; Redis Cluster does not, and is not supported.
 */

const PRELUDE = `
local GRACE = 60000
local function int(n) return string.format('%d', n) end
local function clock(arg)
  local now = tonumber(arg)
  if now < 0 then
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return now
end
-- Drops holds of expired reservations from one counter; forgets a counter past its expiry that holds nothing.
local function load(c, z, now)
  local v = redis.call('HMGET', c, 'c', 'r', 'x')
  local committed, reserved, x = tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3])
  local gone = redis.call('ZRANGEBYSCORE', z, '-inf', int(now))
  if #gone > 0 then
    local freed = 0
    for i = 1, #gone do
      local field = '#' .. gone[i]
      local held = redis.call('HGET', c, field)
      if held then
        freed = freed + tonumber(held)
        redis.call('HDEL', c, field)
      end
    end
    redis.call('ZREMRANGEBYSCORE', z, '-inf', int(now))
    if freed ~= 0 then
      reserved = reserved - freed
      redis.call('HSET', c, 'r', int(reserved))
    end
  end
  if x and x <= now and reserved == 0 then
    redis.call('DEL', c, z)
    return 0, 0, nil
  end
  return committed, reserved, x
end
-- Expiry only grows (max of those given; none given = never); a counter holding a live reservation outlives it.
local function keep(c, z, x, want, floor, now)
  local nx = x
  if want and (not nx or want > nx) then nx = want end
  if nx and floor and floor > nx then nx = floor end
  if not nx then return end
  if nx ~= x then redis.call('HSET', c, 'x', int(nx)) end
  local ttl = nx - now
  if ttl < 0 then ttl = 0 end
  ttl = int(ttl + GRACE)
  redis.call('PEXPIRE', c, ttl)
  redis.call('PEXPIRE', z, ttl)
end
-- Removes a reservation's holds from every counter it lists, then the record.
local function forget(rec, pre, id)
  local fields = redis.call('HGETALL', rec)
  for i = 1, #fields, 2 do
    local name = fields[i]
    if string.sub(name, 1, 2) == 'k:' then
      local key = string.sub(name, 3)
      local c = pre .. 'c:' .. key
      local held = redis.call('HGET', c, '#' .. id)
      if held then
        redis.call('HINCRBY', c, 'r', int(-tonumber(held)))
        redis.call('HDEL', c, '#' .. id)
      end
      redis.call('ZREM', pre .. 'z:' .. key, id)
    end
  end
  redis.call('DEL', rec)
end
-- Moves a live reservation's expiry on every counter it holds.
local function extendAll(rec, pre, id, e, now)
  local fields = redis.call('HGETALL', rec)
  for i = 1, #fields, 2 do
    local name = fields[i]
    if string.sub(name, 1, 2) == 'k:' then
      local key = string.sub(name, 3)
      local c, z = pre .. 'c:' .. key, pre .. 'z:' .. key
      redis.call('ZADD', z, 'XX', int(e), id)
      keep(c, z, tonumber(redis.call('HGET', c, 'x')), nil, e, now)
    end
  end
  redis.call('HSET', rec, 'e', int(e))
end
`;

/**
 * KEYS: record, then (counter, zset) per item. ARGV: now, id, ttlMs, prefix, then (amount, limit, expireAt|'') per item.
 * → {0, headroom} reserved | {1, index, committed, reserved} over a limit | {3} id already live.
 */
const RESERVE = `
local now = clock(ARGV[1])
local id, ttl, pre, rec = ARGV[2], tonumber(ARGV[3]), ARGV[4], KEYS[1]
local old = tonumber(redis.call('HGET', rec, 'e'))
if old then
  if old > now then return {3} end
  forget(rec, pre, id)
end
local n = (#KEYS - 1) / 2
local xs = {}
local room = nil
for i = 1, n do
  local a = 4 + (i - 1) * 3
  local committed, reserved, x = load(KEYS[2 * i], KEYS[2 * i + 1], now)
  local left = tonumber(ARGV[a + 2]) - committed - reserved - tonumber(ARGV[a + 1])
  if left < 0 then
    return {1, i - 1, int(committed), int(reserved)}
  end
  if room == nil or left < room then room = left end
  xs[i] = x
end
local e = now + ttl
local skip = #pre + 3
for i = 1, n do
  local a = 4 + (i - 1) * 3
  local c, z = KEYS[2 * i], KEYS[2 * i + 1]
  redis.call('HINCRBY', c, 'r', ARGV[a + 1])
  redis.call('HSET', c, '#' .. id, ARGV[a + 1])
  redis.call('ZADD', z, int(e), id)
  keep(c, z, xs[i], tonumber(ARGV[a + 3]), e, now)
  redis.call('HSET', rec, 'k:' .. string.sub(c, skip), '1')
end
redis.call('HSET', rec, 'e', int(e))
redis.call('PEXPIRE', rec, int(ttl + GRACE))
return {0, int(room or 0)}
`;

/**
 * KEYS: record, then (counter, zset) per item. ARGV: now, id, ttlMs|'', prefix, then (delta, limit, expireAt|'').
 * → {0} | {1, index, committed, reserved} | {2} reservation unknown or expired.
 */
const ADJUST = `
local now = clock(ARGV[1])
local id, ttl, pre, rec = ARGV[2], tonumber(ARGV[3]), ARGV[4], KEYS[1]
local e = tonumber(redis.call('HGET', rec, 'e'))
if not e or e <= now then
  if e then forget(rec, pre, id) end
  return {2}
end
local n = (#KEYS - 1) / 2
local xs, held = {}, {}
for i = 1, n do
  local a = 4 + (i - 1) * 3
  local c = KEYS[2 * i]
  local committed, reserved, x = load(c, KEYS[2 * i + 1], now)
  local delta = tonumber(ARGV[a + 1])
  if delta > 0 and committed + reserved + delta > tonumber(ARGV[a + 2]) then
    return {1, i - 1, int(committed), int(reserved)}
  end
  xs[i] = x
  held[i] = tonumber(redis.call('HGET', c, '#' .. id)) or 0
end
if ttl then e = now + ttl end
local skip = #pre + 3
for i = 1, n do
  local a = 4 + (i - 1) * 3
  local c, z = KEYS[2 * i], KEYS[2 * i + 1]
  local nextHeld = held[i] + tonumber(ARGV[a + 1])
  if nextHeld < 0 then nextHeld = 0 end
  if nextHeld ~= held[i] then redis.call('HINCRBY', c, 'r', int(nextHeld - held[i])) end
  redis.call('HSET', c, '#' .. id, int(nextHeld))
  redis.call('ZADD', z, int(e), id)
  keep(c, z, xs[i], tonumber(ARGV[a + 3]), e, now)
  redis.call('HSET', rec, 'k:' .. string.sub(c, skip), '1')
end
if ttl then
  extendAll(rec, pre, id, e, now)
  redis.call('PEXPIRE', rec, int(ttl + GRACE))
end
return {0}
`;

/** KEYS: record, then (counter, zset) per item. ARGV: now, id, prefix, then (amount, expireAt|''). → 1 found | 0. */
const COMMIT = `
local now = clock(ARGV[1])
local id, pre, rec = ARGV[2], ARGV[3], KEYS[1]
local e = tonumber(redis.call('HGET', rec, 'e'))
local found = 0
if e then
  if e > now then found = 1 end
  forget(rec, pre, id)
end
for i = 1, (#KEYS - 1) / 2 do
  local a = 3 + (i - 1) * 2
  local c, z = KEYS[2 * i], KEYS[2 * i + 1]
  local _, _, x = load(c, z, now)
  redis.call('HINCRBY', c, 'c', ARGV[a + 1])
  keep(c, z, x, tonumber(ARGV[a + 2]), nil, now)
end
return found
`;

/** KEYS: record. ARGV: now, id, prefix. → 1 found live | 0. */
const RELEASE = `
local now = clock(ARGV[1])
local e = tonumber(redis.call('HGET', KEYS[1], 'e'))
if not e then return 0 end
forget(KEYS[1], ARGV[3], ARGV[2])
if e > now then return 1 end
return 0
`;

/** KEYS: record. ARGV: now, id, ttlMs, prefix. → 1 renewed | 0 unknown or expired. */
const RENEW = `
local now = clock(ARGV[1])
local id, ttl, pre, rec = ARGV[2], tonumber(ARGV[3]), ARGV[4], KEYS[1]
local e = tonumber(redis.call('HGET', rec, 'e'))
if not e or e <= now then
  if e then forget(rec, pre, id) end
  return 0
end
extendAll(rec, pre, id, now + ttl, now)
redis.call('PEXPIRE', rec, int(ttl + GRACE))
return 1
`;

/** KEYS: (counter, zset) per key. ARGV: now. → {committed1, reserved1, committed2, …} as decimal strings. */
const GET = `
local now = clock(ARGV[1])
local out = {}
for i = 1, #KEYS / 2 do
  local committed, reserved = load(KEYS[2 * i - 1], KEYS[2 * i], now)
  out[2 * i - 1] = int(committed)
  out[2 * i] = int(reserved)
end
return out
`;

/**
 * KEYS: seeded marker, then (counter, zset) per item. ARGV: now, mark 1|0, only-if-absent 1|0, then
 * (committed, expireAt|''). Absent: no committed field (booked or seeded) and no live reservation, after load().
 */
const SEED = `
local now = clock(ARGV[1])
local absentOnly = ARGV[3] == '1'
for i = 1, (#KEYS - 1) / 2 do
  local a = 3 + (i - 1) * 2
  local c, z = KEYS[2 * i], KEYS[2 * i + 1]
  local _, _, x = load(c, z, now)
  if not absentOnly or (redis.call('HEXISTS', c, 'c') == 0 and redis.call('ZCARD', z) == 0) then
    redis.call('HSET', c, 'c', ARGV[a + 1])
    keep(c, z, x, tonumber(ARGV[a + 2]), nil, now)
  end
end
if ARGV[2] == '1' then redis.call('SET', KEYS[1], '1') end
return 0
`;

/**
 * Sliding windows of fixed buckets (see sliding-window.ts for the arithmetic and its guarantee).
 * KEYS: window per item. ARGV: now, force 1|0, buckets per window, then (limit, windowMs, cost) per item.
 * → {0} | {1, index, current, retryAfterMs} (the refusing item that waits longest).
 */
const HIT = `
local now = clock(ARGV[1])
local force, buckets = ARGV[2] == '1', tonumber(ARGV[3])
local n = #KEYS
local bs, spans, ks, os, ts, ws = {}, {}, {}, {}, {}, {}
local worst, worstRetry, worstCurrent = -1, -1, 0
for i = 1, n do
  local key, a = KEYS[i], 3 + (i - 1) * 3
  local limit, window, cost = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local b = math.ceil(window / buckets)
  local span = math.ceil(window / b)
  local k = math.floor(now / b)
  local low = k - span
  local v = redis.call('HMGET', key, 'w', 'o', 't')
  local w, o, t = tonumber(v[1]), tonumber(v[2]), tonumber(v[3]) or 0
  if w ~= window or not o then
    if v[1] or v[2] or v[3] then redis.call('DEL', key) end
    o, t = low, 0
  elseif low > o then
    if low - o > span then
      redis.call('DEL', key)
      t = 0
    else
      for j = o, low - 1 do
        local units = redis.call('HGET', key, int(j))
        if units then
          t = t - tonumber(units)
          redis.call('HDEL', key, int(j))
        end
      end
      redis.call('HSET', key, 'w', int(window), 'o', int(low), 't', int(t))
    end
    o = low
  end
  if k < o then k = o end
  bs[i], spans[i], ks[i], os[i], ts[i], ws[i] = b, span, k, o, t, window
  if not force and t + cost > limit then
    local retry = window
    local freed = 0
    for j = o, o + span do
      freed = freed + (tonumber(redis.call('HGET', key, int(j))) or 0)
      if t - freed + cost <= limit then
        retry = (j + span + 1) * b - now
        break
      end
    end
    if retry > worstRetry then worst, worstRetry, worstCurrent = i, retry, t end
  end
end
if worst > 0 then return {1, worst - 1, int(worstCurrent), worstRetry} end
for i = 1, n do
  local key, cost = KEYS[i], tonumber(ARGV[3 + (i - 1) * 3 + 3])
  redis.call('HINCRBY', key, int(ks[i]), int(cost))
  redis.call('HSET', key, 'w', int(ws[i]), 'o', int(os[i]), 't', int(ts[i] + cost))
  redis.call('PEXPIRE', key, int((spans[i] + 2) * bs[i] + GRACE))
end
return {0}
`;

/**
 * Units live in each window now, read-only (HIT's sliding arithmetic without its writes).
 * KEYS: window per item. ARGV: now, buckets per window, then windowMs per item. → {units…} as decimal strings.
 */
const WINDOW_TOTALS = `
local now = clock(ARGV[1])
local buckets = tonumber(ARGV[2])
local out = {}
for i = 1, #KEYS do
  local key, window = KEYS[i], tonumber(ARGV[2 + i])
  local b = math.ceil(window / buckets)
  local span = math.ceil(window / b)
  local low = math.floor(now / b) - span
  local v = redis.call('HMGET', key, 'w', 'o', 't')
  local w, o, t = tonumber(v[1]), tonumber(v[2]), tonumber(v[3]) or 0
  if w ~= window or not o or low - o > span then
    t = 0
  else
    for j = o, low - 1 do t = t - (tonumber(redis.call('HGET', key, int(j))) or 0) end
  end
  out[i] = int(t)
end
return out
`;

/** KEYS: lease zset. ARGV: now, max, leaseId, ttlMs. → {0} | {1, active}. */
const ACQUIRE = `
local now = clock(ARGV[1])
local key, id, ttl = KEYS[1], ARGV[3], tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', key, '-inf', int(now))
if not redis.call('ZSCORE', key, id) then
  local active = redis.call('ZCARD', key)
  if active >= tonumber(ARGV[2]) then return {1, active} end
end
redis.call('ZADD', key, int(now + ttl), id)
if redis.call('PTTL', key) < ttl + GRACE then redis.call('PEXPIRE', key, int(ttl + GRACE)) end
return {0}
`;

/** KEYS: lease zset. ARGV: now, leaseId, ttlMs. → 1 renewed | 0 not held. */
const RENEW_LEASE = `
local now = clock(ARGV[1])
local key, id, ttl = KEYS[1], ARGV[2], tonumber(ARGV[3])
local s = tonumber(redis.call('ZSCORE', key, id))
if not s then return 0 end
if s <= now then
  redis.call('ZREM', key, id)
  return 0
end
redis.call('ZADD', key, int(now + ttl), id)
if redis.call('PTTL', key) < ttl + GRACE then redis.call('PEXPIRE', key, int(ttl + GRACE)) end
return 1
`;

/** KEYS: lease zset. ARGV: now, leaseId. → 1 released a live lease | 0. */
const RELEASE_LEASE = `
local now = clock(ARGV[1])
local s = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[2]))
if not s then return 0 end
redis.call('ZREM', KEYS[1], ARGV[2])
if s > now then return 1 end
return 0
`;

/** Command names (methods ioredis adds to the client) and their Lua. */
export const COUNTER_SCRIPTS = {
  tollgateReserve: RESERVE,
  tollgateAdjust: ADJUST,
  tollgateCommit: COMMIT,
  tollgateRelease: RELEASE,
  tollgateRenew: RENEW,
  tollgateGet: GET,
  tollgateSeed: SEED,
  tollgateHit: HIT,
  tollgateWindowTotals: WINDOW_TOTALS,
  tollgateAcquire: ACQUIRE,
  tollgateRenewLease: RENEW_LEASE,
  tollgateReleaseLease: RELEASE_LEASE,
} as const;

export type CounterScriptName = keyof typeof COUNTER_SCRIPTS;

/** The full Lua source of one script (shared helpers + body). */
export function scriptSource(name: CounterScriptName): string {
  return PRELUDE + COUNTER_SCRIPTS[name];
}
