import Glibc
import MetricLine

// mquery: PromQL over a store, or over samples on stdin.
let spec = CommandSpec(
    tool: "mquery",
    summary: "evaluate PromQL over a store or stdin",
    usage: ["[-s DIR] EXPR [--at T | --from T [--to T] [--step D]] [--output-format F | --plot]"],
    options: [
        OptionSpec(["-s", "--store"], argument: "DIR", help: "query the store DIR (default: read samples from stdin)"),
        OptionSpec(["--at"], argument: "T", help: "instant query at T (default now): RFC 3339, Unix seconds, now, -1h"),
        OptionSpec(["--from"], argument: "T", help: "range query from T"),
        OptionSpec(["--to"], argument: "T", help: "range query to T (default now)"),
        OptionSpec(["--step"], argument: "D", help: "range query step, a duration or seconds (default: the range / 250, at least 1s)"),
        OptionSpec(["--explain"], help: "print on stderr what the query read (series, samples, chunks, rollups) and the time each stage took"),
        OptionSpec(["--raw"], help: "read raw samples wherever they exist, though the step is long enough for rollups (by default a range query whose step and windows span 5 or more rollup buckets reads the coarsest such rollups where there are any)"),
        OptionSpec(["--plot"], help: "draw a chart in the terminal (a range query; --from defaults to -1h)"),
        OptionSpec(["--watch"], argument: "D", help: "evaluate and print again every D (e.g. 5s) until interrupted, like watch(1); reads a store"),
        OptionSpec(["--chart"], argument: "KIND", help: "the SVG chart: line (default), area (stacked), heatmap (histogram buckets by le), stat (latest value and sparkline), gauge"),
        OptionSpec(["--unit"], argument: "U", help: "print values in U on charts: bytes, seconds, percent (a 0-1 ratio), % (already 0-100), any of these with /s, or any text"),
        OptionSpec(["--title"], argument: "TEXT", help: "the SVG chart's title (default: the expression)"),
        OptionSpec(["--size"], argument: "WxH", help: "the SVG chart's size in pixels (default 800x320)"),
        OptionSpec(["--tz"], argument: "ZONE", help: "answer hour(), day_of_week() and the other date functions in ZONE (e.g. Europe/Berlin; default $TZ, else UTC)"),
        OptionSpec(["--output-format"], argument: "F", help: "lines (default; also called prom), json (Prometheus API data), csv, table (aligned, for a terminal), svg (a chart; a range query)"),
        .inputFormat, .strict,
    ],
    examples: [
        "mquery -s /var/lib/metrics 'rate(node_network_receive_bytes_total[5m])' --from -1h",
        "mquery -s /var/lib/metrics 'topk(3, node_filesystem_avail_bytes)' --output-format json",
        "mcollect -i samples.prom | mquery 'sum by (job) (up)'",
        "mquery -s /var/lib/metrics 'hour() >= 9 < 17' --tz Europe/Berlin",
        "mquery -s /var/lib/metrics 'node_load1' --from -1d --output-format svg > load.svg",
        "mquery -s /var/lib/metrics 'rate(node_network_receive_bytes_total[5m])' --plot --unit bytes/s --watch 5s",
        "mquery -s /var/lib/metrics 'sum by (le) (rate(http_request_duration_seconds_bucket[5m]))' --from -6h --output-format svg --chart heatmap --unit seconds",
    ],
    notes: ["Exit status: 0 ok, 1 the expression or the input is invalid, or the store has damaged files (named on stderr; the answer is printed without what they hold), 2 usage."]
)

let arguments = spec.parseOrExit()
exit(QueryCommand(spec: spec, arguments: arguments).run())
