-- wrk script for bench/http_bench.py: optional extra request headers, and a one-line
-- JSON summary with latency percentiles.
-- Environment:
--   BENCH_HEADERS   extra headers, "Name: value" lines separated by "\n" (optional)
local extra = os.getenv("BENCH_HEADERS") or ""
for line in string.gmatch(extra, "[^\n]+") do
  local name, value = string.match(line, "^%s*([^:]+):%s*(.*)$")
  if name then wrk.headers[name] = value end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_s":%.6f,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,' ..
    '"mean_ms":%.4f,"max_ms":%.4f,"p50_ms":%.4f,"p90_ms":%.4f,"p99_ms":%.4f}\n',
    summary.requests, summary.duration / 1e6,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean / 1000, latency.max / 1000,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000))
end
