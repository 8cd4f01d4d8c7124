-- wrk script for bench/forms.sh: fetch a CSRF token (and its cookie) with GET /token, then
-- POST /register with it. Works for both servers: each answers /token with the token as text
-- and sets the cookie it belongs to.
local token, cookie

local body_tail = "&username=susan&email=susan%40example.com&password=correct+horse"
    .. "&password2=correct+horse&age=30"

request = function()
    if not token then
        return wrk.format("GET", "/token")
    end
    return wrk.format("POST", "/register", {
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["Cookie"] = cookie,
    }, "csrf_token=" .. token .. body_tail)
end

response = function(status, headers, body)
    if not token and status == 200 then
        local set = headers["Set-Cookie"] or headers["set-cookie"]
        if set then
            cookie = set:match("^[^;]+")
            token = body
        end
    end
end
