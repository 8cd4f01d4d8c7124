-- wrk script for bench/jwt.sh: fetch an access token with GET /token, then send it as a
-- Bearer token to the route under test (the URL's path).
local token

request = function()
    if not token then
        return wrk.format("GET", "/token")
    end
    return wrk.format("GET", wrk.path, { ["Authorization"] = "Bearer " .. token })
end

response = function(status, headers, body)
    if not token and status == 200 then
        token = body
    end
end
