-- wrk script: POST /orders with a fresh Idempotency-Key per request (one order each), for the
-- product ids in PRODUCT_IDS (comma-separated), as customer bench-<thread>.
local counter = 0
local ids = {}
for id in string.gmatch(os.getenv("PRODUCT_IDS") or "", "[^,]+") do ids[#ids + 1] = id end
local run = tostring(os.time()) .. "-" .. tostring(math.random(1, 1000000000))

request = function()
  counter = counter + 1
  local product = ids[(counter % #ids) + 1]
  local body = '{"lines":[{"productId":"' .. product .. '","quantity":1}]}'
  local headers = {
    ["Content-Type"] = "application/json",
    ["X-User-Id"] = "bench",
    ["Idempotency-Key"] = run .. "-" .. counter
  }
  return wrk.format("POST", "/orders", headers, body)
end
