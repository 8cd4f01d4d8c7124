-- Moving window, as limits' acquire_moving_window.lua, with the time read from the server
-- (TIME) so that instances with skewed clocks share one window. The list holds hit times,
-- newest first, at most `amount` of them.
-- KEYS[1] list; ARGV: amount, expiry (ms), cost, test (1: only check).
-- Returns {allowed, remaining, reset in ms}.
local amount = tonumber(ARGV[1])
local expiry = tonumber(ARGV[2]) / 1000
local cost = tonumber(ARGV[3])
local t = redis.call('time')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local allowed = 0
if ARGV[4] ~= '1' and cost <= amount then
    local entry = redis.call('lindex', KEYS[1], amount - cost)
    if not (entry and tonumber(entry) >= now - expiry) then
        local stamp = string.format('%.6f', now)
        for i = 1, cost do
            redis.call('lpush', KEYS[1], stamp)
        end
        redis.call('ltrim', KEYS[1], 0, amount - 1)
        redis.call('pexpire', KEYS[1], math.ceil(expiry * 1000))
        allowed = 1
    end
end
local count = 0
local oldest = now
if amount > 0 then
    local entries = redis.call('lrange', KEYS[1], 0, amount - 1)
    for i, entry in ipairs(entries) do
        local at = tonumber(entry)
        if at > now - expiry then
            count = i
            oldest = at
        else
            break
        end
    end
end
if ARGV[4] == '1' then
    allowed = (count + cost <= amount) and 1 or 0
end
local reset_in = 0
if count > 0 then
    reset_in = math.max(0, math.ceil((oldest + expiry - now) * 1000))
end
return {allowed, math.max(0, amount - count), reset_in}
