-- Fixed window, as limits' incr_expire.lua: the window starts at the key's first hit and
-- lasts the limit's length (Redis keeps the time, as the key's TTL); every hit counts.
-- KEYS[1] counter; ARGV: amount, expiry (ms), cost, test (1: only check).
-- Returns {allowed, remaining, reset in ms}.
local amount = tonumber(ARGV[1])
local expiry = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local current = tonumber(redis.call('get', KEYS[1]) or '0')
local ttl = redis.call('pttl', KEYS[1])
if ARGV[4] == '1' then
    if ttl < 0 then ttl = 0 end
    local allowed = (current + cost <= amount) and 1 or 0
    return {allowed, math.max(0, amount - current), ttl}
end
current = redis.call('incrby', KEYS[1], cost)
if current == cost or ttl < 0 then
    redis.call('pexpire', KEYS[1], expiry)
    ttl = expiry
end
local allowed = (current <= amount) and 1 or 0
return {allowed, math.max(0, amount - current), ttl}
