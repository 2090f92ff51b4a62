-- wrk script of bench/wrk.py: each thread sends its own file of pre-built, pre-signed raw HTTP requests, in order
-- (each request once: every one carries its own MessageSid), and the run ends with one JSON line of figures.
-- Usage: wrk -s bench/wrk_requests.lua URL -- PREFIX   (thread i reads PREFIX.i, requests separated by NUL bytes)

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1] .. "." .. id, "rb"))
  local data = file:read("*a")
  file:close()
  requests = {}
  local position = 1
  while true do
    local stop = string.find(data, "\0", position, true)
    if not stop then break end
    requests[#requests + 1] = string.sub(data, position, stop - 1)
    position = stop + 1
  end
  index = 0
  wrapped = 0
end

function request()
  index = index + 1
  if index > #requests then
    -- Out of fresh requests: repeats follow (for the webhook, a transport's repeat, answered from the dedup row).
    index = 1
    wrapped = wrapped + 1
  end
  return requests[index]
end

function done(summary, latency, _)
  local wraps = 0
  for _, thread in ipairs(threads) do
    wraps = wraps + thread:get("wrapped")
  end
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "status_errors": %d, '
      .. '"socket_errors": %d, "wrapped": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), errors.status,
    errors.connect + errors.read + errors.write + errors.timeout, wraps))
end
