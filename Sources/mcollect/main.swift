import Glibc
import MetricLine

// mcollect: the start of every pipeline. This machine's metrics with node_exporter's names
// (--once, or every --interval), or samples passed on from files and stdin (--input).
let spec = CommandSpec(
    tool: "mcollect",
    summary: "emit metric samples as lines",
    usage: ["--once [--collect LIST] [--no-collect LIST] [OPTIONS]", "--interval D [OPTIONS]", "--input FILE [--input FILE ...] [OPTIONS]"],
    options: [
        OptionSpec(["--once"], help: "collect this machine's metrics once and exit (for cron)"),
        OptionSpec(["--interval"], argument: "D", help: "collect every D (e.g. 15s), on whole multiples of D, until SIGTERM"),
        OptionSpec(["--collect"], argument: "LIST", help: "only these collectors: cpu,loadavg,meminfo,filesystem,diskstats,netdev,netclass,pressure,filefd,vmstat,uname,time"),
        OptionSpec(["--no-collect"], argument: "LIST", help: "all collectors but these"),
        OptionSpec(["--textfile-dir"], argument: "DIR", help: "also read the samples of DIR/*.prom (node_exporter's textfile collector)"),
        OptionSpec(["--textfile-ttl"], argument: "D", help: "leave out textfiles not modified for D (e.g. 2h), so dead jobs' numbers expire"),
        OptionSpec(["--exec"], argument: "CMD", help: "run CMD (with /bin/sh) and report its duration, exit code and any sample lines it prints; repeatable"),
        OptionSpec(["--exec-timeout"], argument: "D", help: "kill a command after D (default 10s)"),
        OptionSpec(["--scrape"], argument: "URL", help: "scrape a Prometheus/OpenMetrics endpoint (http://host:port/metrics); repeatable"),
        OptionSpec(["--file-sd"], argument: "FILE", help: "scrape the targets of FILE, in Prometheus's file_sd format (JSON or YAML), with their labels; read again when it changes or on SIGHUP; repeatable"),
        OptionSpec(["--honor-labels"], help: "keep a scraped page's own job, instance and other labels where they clash with the target's (Prometheus's honor_labels: for federation and the Pushgateway); by default the page's are kept as exported_NAME"),
        OptionSpec(["--job"], argument: "NAME", help: "the job label of scraped samples (default mcollect)"),
        OptionSpec(["--scrape-timeout"], argument: "D", help: "give up on a scrape or probe after D (default 10s)"),
        OptionSpec(["--probe-tcp"], argument: "HOST:PORT", help: "probe a TCP port: probe_success, probe_duration_seconds; repeatable"),
        OptionSpec(["--probe-http"], argument: "URL", help: "probe an http:// or https:// URL: probe_success (2xx), probe_http_status_code, probe_duration_seconds, and for https probe_ssl_earliest_cert_expiry"),
        OptionSpec(["--ca-file"], argument: "FILE", help: "trust the certificates in FILE for https:// scrapes and probes (default: the system's CA store)"),
        OptionSpec(["--cert-file"], argument: "FILE", help: "show the client certificate in FILE (PEM) to https:// targets that ask for one; with --key-file"),
        OptionSpec(["--key-file"], argument: "FILE", help: "the private key of --cert-file (PEM)"),
        OptionSpec(["--insecure"], help: "accept any certificate from https:// targets (Prometheus's insecure_skip_verify)"),
        OptionSpec(["--no-stale"], help: "with --interval, do not end the series that stop (a failed scrape, an unmounted filesystem) with a staleness marker"),
        OptionSpec(["--metadata"], help: "group samples by family under # HELP and # TYPE lines (a complete exposition)"),
        OptionSpec(["--no-timestamps"], help: "leave the timestamps out (node_exporter's textfile collector refuses them)"),
        OptionSpec(["--root"], argument: "DIR", help: "read /proc and mount points under DIR (default /; for tests and containers)"),
        OptionSpec(["-i", "--input"], argument: "FILE", help: "read samples from FILE ('-' for stdin) and pass them on; repeatable"),
        OptionSpec(["--no-timestamp-fill"], help: "with --input, leave samples without a timestamp as they are (default: stamp them with the read time)"),
        .inputFormat, .outputFormat, .strict,
    ],
    examples: [
        "mcollect --once | mstore /var/lib/metrics                 # from cron, every minute",
        "mcollect --interval 15s | mstore /var/lib/metrics         # as a service",
        "mcollect --once --collect cpu,meminfo --output-format influx",
        "mcollect --once --textfile-dir /var/lib/mcollect/textfiles --textfile-ttl 2h",
        "mcollect --interval 15s --collect time --scrape http://127.0.0.1:9100/metrics --job node",
        "mcollect --once --collect time --exec 'pg_isready -q' --exec 'echo queue_depth $(wc -l < /var/spool/queue)'",
        "mcollect --interval 15s --collect time --file-sd /etc/mcollect/targets.json",
        "printf 'queue_depth{queue=\"mail\"} 12\\n' | mcollect -i - --output-format influx",
    ],
    notes: ["https:// scrapes and probes go through the system's libcurl (Debian: libcurl4), loaded when first needed."]
)

let arguments = spec.parseOrExit()
exit(CollectCommand(spec: spec, arguments: arguments).run())
