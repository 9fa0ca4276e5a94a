/**
 * The Lua scripts of RedisSharedState: each read-modify-write is one script, so it is atomic on the
 * server and costs one round trip. Numbers travel as strings (Lua numbers would be truncated to integers
 * in replies).
 */
export const SCRIPTS = {
  /** KEYS[1] counter; ARGV by, ttlMs ('' = keep). Returns the new value. */
  llmuxIncr: {
    numberOfKeys: 1,
    lua: `
local value = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value`,
  },
  /** KEYS[1] window counter; ARGV by, limit, ttlMs. Returns {allowed (0|1), count}. */
  llmuxTryIncr: {
    numberOfKeys: 1,
    lua: `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return {0, tostring(current)} end
local value = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, value}`,
  },
  /**
   * KEYS[1] window counter; ARGV max, limit, ttlMs. Takes as many as fit, up to max (a lease). Returns
   * {granted, count}.
   */
  llmuxTake: {
    numberOfKeys: 1,
    lua: `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local granted = math.min(tonumber(ARGV[1]), tonumber(ARGV[2]) - current)
if granted <= 0 then return {0, tostring(current)} end
local value = redis.call('INCRBYFLOAT', KEYS[1], granted)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {granted, value}`,
  },
  /** KEYS[1] in-flight counter; ARGV by (may be negative), ttlMs ('' = keep). Never below 0. Returns the new count. */
  llmuxAddInFlight: {
    numberOfKeys: 1,
    lua: `
local value = tonumber(redis.call('GET', KEYS[1]) or '0') + tonumber(ARGV[1])
if value < 0 then value = 0 end
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[1], tostring(value), 'PX', ARGV[2])
else
  redis.call('SET', KEYS[1], tostring(value), 'KEEPTTL')
end
return value`,
  },
  /** KEYS[1] in-flight counter; ARGV limit ('' = none), ttlMs ('' = none). Returns {allowed, count}. */
  llmuxAcquire: {
    numberOfKeys: 1,
    lua: `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if ARGV[1] ~= '' and current + 1 > tonumber(ARGV[1]) then return {0, current} end
local value = redis.call('INCR', KEYS[1])
if ARGV[2] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {1, value}`,
  },
  /** KEYS[1] in-flight counter. Never below 0. Returns the new count. */
  llmuxRelease: {
    numberOfKeys: 1,
    lua: `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current <= 0 then return 0 end
return redis.call('DECR', KEYS[1])`,
  },
  /**
   * KEYS[1] failures (sorted set of times), KEYS[2] cooldown; ARGV now, windowMs, allowedFails (0 = count
   * only), cooldownMs, member. Counts the failure, drops those out of the window and, at allowedFails,
   * sets the cooldown (a later one wins) and clears the failures. Returns {failures, until or ''}.
   */
  llmuxFailure: {
    numberOfKeys: 2,
    lua: `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local failures = redis.call('ZCARD', KEYS[1])
redis.call('PEXPIRE', KEYS[1], window)
local allowed = tonumber(ARGV[3])
local cooldown = tonumber(ARGV[4])
if allowed > 0 and cooldown > 0 and failures >= allowed then
  local untilTime = now + cooldown
  local current = tonumber(redis.call('GET', KEYS[2]) or '0')
  if current < untilTime then
    redis.call('SET', KEYS[2], tostring(untilTime), 'PX', cooldown)
  else
    untilTime = current
  end
  redis.call('DEL', KEYS[1])
  return {failures, tostring(untilTime)}
end
return {failures, ''}`,
  },
  /** KEYS[1] cooldown, KEYS[2] failures; ARGV until, now. A later until wins; clears the failures. */
  llmuxCooldown: {
    numberOfKeys: 2,
    lua: `
redis.call('DEL', KEYS[2])
local untilTime = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
if untilTime <= now then return 0 end
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < untilTime then redis.call('SET', KEYS[1], ARGV[1], 'PX', untilTime - now) end
return 1`,
  },
} as const;

export type ScriptName = keyof typeof SCRIPTS;
