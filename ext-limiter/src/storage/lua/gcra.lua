-- GCRA (the algorithm governor runs in memory), with the theoretical arrival time kept in
-- Redis and the time read from the server (TIME), in microseconds.
-- KEYS[1] arrival time; ARGV: amount, expiry (ms), cost, test (1: only check).
-- Returns {allowed, remaining, reset in ms}.
local amount = tonumber(ARGV[1])
local window = tonumber(ARGV[2]) * 1000
local cost = tonumber(ARGV[3])
if amount == 0 then
    return {0, 0, math.ceil(window / 1000)}
end
local t = redis.call('time')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local period = window / amount
local tat = math.max(tonumber(redis.call('get', KEYS[1]) or '0'), now)
local new_tat = tat + cost * period
if new_tat - now > window then
    local remaining = math.max(0, math.floor((window - (tat - now)) / period))
    return {0, remaining, math.ceil((new_tat - window - now) / 1000)}
end
if ARGV[4] ~= '1' then
    redis.call('set', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
    tat = new_tat
end
local remaining = math.max(0, math.floor((window - (tat - now)) / period))
return {1, remaining, math.ceil((tat - now) / 1000)}
