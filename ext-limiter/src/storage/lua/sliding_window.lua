-- Sliding window counter, as limits' acquire_sliding_window.lua: the current counter lives
-- twice the window; once it is older than one window it becomes the previous counter, whose
-- count is weighted by its remaining TTL. Redis keeps the time (TTLs).
-- KEYS[1] previous counter, KEYS[2] current counter; ARGV: amount, expiry (ms), cost, test.
-- Returns {allowed, remaining, reset in ms}.
local amount = tonumber(ARGV[1])
local expiry = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local current_ttl = tonumber(redis.call('pttl', KEYS[2]))
if current_ttl > 0 and current_ttl < expiry then
    redis.call('rename', KEYS[2], KEYS[1])
    redis.call('set', KEYS[2], 0, 'PX', current_ttl + expiry)
end
local previous_count = tonumber(redis.call('get', KEYS[1])) or 0
local previous_ttl = math.max(0, tonumber(redis.call('pttl', KEYS[1])) or 0)
local current_count = tonumber(redis.call('get', KEYS[2])) or 0
current_ttl = math.max(0, tonumber(redis.call('pttl', KEYS[2])) or 0)
local weighted = math.floor(previous_count * previous_ttl / expiry) + current_count
local allowed = 0
if cost <= amount and weighted + cost <= amount then
    allowed = 1
    if ARGV[4] ~= '1' then
        if redis.call('exists', KEYS[2]) == 1 then
            current_count = redis.call('incrby', KEYS[2], cost)
        else
            redis.call('set', KEYS[2], cost, 'PX', expiry * 2)
            current_count = cost
            current_ttl = expiry * 2
        end
        weighted = weighted + cost
    end
end
-- limits' reset estimate; a remainder of 0 means a whole period, not "now".
local function rest(ttl, period)
    local r = ttl % period
    if r == 0 then r = period end
    return r
end
local reset_in = 0
if previous_count > 0 or current_count > 0 then
    reset_in = expiry
    if previous_count > 0 then
        reset_in = math.min(reset_in, rest(previous_ttl, math.max(1, math.floor(expiry / previous_count))))
    end
    if current_count > 0 then
        reset_in = math.min(reset_in, rest(current_ttl, expiry))
    end
end
return {allowed, math.max(0, amount - weighted), reset_in}
