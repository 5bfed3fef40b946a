-- wrk's report for bench_http.py, as one machine-readable line. wrk itself counts only 4xx and 5xx as
-- errors ("Non-2xx or 3xx responses"); this also counts 1xx and 3xx, since a signed-in page that answers
-- with a redirect to the sign-in page has failed, however fast it did so.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  not_2xx = 0
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    not_2xx = not_2xx + 1
  end
end

function done(summary, latency, requests)
  local not_2xx_total = 0
  for _, thread in ipairs(threads) do
    not_2xx_total = not_2xx_total + thread:get("not_2xx")
  end
  local errors = summary.errors
  io.write(string.format(
    "WRK requests=%d duration_us=%d p99_us=%d max_us=%d not_2xx=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(99), latency.max, not_2xx_total,
    errors.connect, errors.read, errors.write, errors.timeout
  ))
end
