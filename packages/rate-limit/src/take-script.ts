import { createHash } from "node:crypto";

/**
 * One atomic fixed-window take. Redis runs a script without interleaving other commands, and a key cannot expire
 * in the middle of it, so check-then-charge is safe across all producer replicas.
 *
 * KEYS[1] counter key; ARGV[1] cost; ARGV[2] window capacity; ARGV[3] window length in ms.
 * Reply: { allowed (1|0), remaining, pttl of the window in ms }.
 *
 * Differences from the Go limiter on purpose: a rejected request is not charged (Go INCRBY'd first), and the TTL is
 * set in the same command that creates the key (Go ran a separate EXPIRE NX that could fail and leave a key without
 * TTL, locked forever). A key found without TTL anyway (written by something else) is given one.
 */
export const takeScript = `
local key = KEYS[1]
local cost = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local used = tonumber(redis.call('GET', key) or '0') or 0
local ttl = redis.call('PTTL', key)
if ttl == -1 then
  redis.call('PEXPIRE', key, window)
  ttl = window
end
if used + cost > capacity then
  if ttl < 0 then ttl = window end
  local left = capacity - used
  if left < 0 then left = 0 end
  return {0, left, ttl}
end
if cost == 0 then
  if ttl < 0 then ttl = 0 end
  return {1, capacity - used, ttl}
end
if ttl == -2 then
  redis.call('SET', key, cost, 'PX', window)
  return {1, capacity - cost, window}
end
local now_used = redis.call('INCRBY', key, cost)
return {1, capacity - now_used, ttl}
`;

export const takeScriptSha1 = createHash("sha1").update(takeScript).digest("hex");
