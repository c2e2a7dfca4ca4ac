#!/usr/bin/env bash
# Runs the benchmarks README.md quotes and prints them as a table, with the
# ratio of PacketFlow's throughput to raw Proto.Actor measured in the same
# run. COUNT (default 5) runs per benchmark; the table shows medians.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-5}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test -run '^$' -bench 'Check10Grants4Levels|Satisfies10Grants4Levels|Parse' -benchmem -count "$count" ./capability/ | tee -a "$out" >&2
go test -run '^$' -bench '^Benchmark(Request|RequestParallel|Send|SendPath)$' -benchmem -count "$count" ./actor/ | tee -a "$out" >&2
go test -run '^$' -bench 'PlacementOwner|RemoteRequest' -benchmem -count "$count" ./cluster/ | tee -a "$out" >&2
go test -run '^$' -bench 'IdleReactorMemory' -benchtime 1x -count 1 ./actor/ | tee -a "$out" >&2
go test -run '^$' -bench 'Commit' -benchmem -count "$count" ./store/ | tee -a "$out" >&2
go test -run '^$' -bench 'Commit' -benchmem -count "$count" ./store/replicated/ | tee -a "$out" >&2
go test -run '^$' -bench 'DurableRequest' -count "$count" ./actor/ | tee -a "$out" >&2
go test -run '^$' -bench 'Recovery' -benchtime 200x -count "$count" ./actor/ | tee -a "$out" >&2
go test -run '^$' -bench 'HTTPIntent' -benchtime 2s -count "$count" ./web/ | tee -a "$out" >&2
# Cluster timings: each iteration starts (and for Failover kills) a cluster.
go test -run '^$' -bench 'Convergence' -benchtime 5x -count 1 ./cluster/ | tee -a "$out" >&2
go test -run '^$' -bench 'Failover' -benchtime 5x -count 1 ./cluster/ | tee -a "$out" >&2

awk '
function median(list,   n, a, i, j, t) {
  n = split(list, a, " ")
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
  return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
/^Benchmark/ {
  name = $1; sub(/-[0-9]+$/, "", name)
  for (i = 3; i < NF; i++) {
    if ($(i+1) == "ns/op" && $i + 0 > 0) ns[name] = ns[name] " " $i
    if ($(i+1) == "allocs/op") allocs[name] = $i
    if ($(i+1) == "B/reactor") mem[name] = $i
    if ($(i+1) ~ /^(p50-µs|p99-µs|converge-ms|failover-ms|commits\/tx)$/) vals[name, $(i+1)] = vals[name, $(i+1)] " " $i
  }
  if (!(name in seen)) { seen[name] = 1; order[++n] = name }
}
END {
  split("p50-µs p99-µs converge-ms failover-ms commits/tx", units, " ")
  print "| benchmark | median ns/op | allocs/op | B/reactor | other medians |"
  print "| --- | ---: | ---: | ---: | --- |"
  for (k = 1; k <= n; k++) {
    b = order[k]
    m = (b in ns) ? sprintf("%.1f", median(ns[b])) : "-"
    med[b] = (b in ns) ? median(ns[b]) : 0
    other = ""
    for (u = 1; u <= 5; u++) if ((b, units[u]) in vals) other = other sprintf(" %s %.1f", units[u], median(vals[b, units[u]]))
    printf "| %s | %s | %s | %s | %s |\n", b, m, (b in allocs) ? allocs[b] : "-", (b in mem) ? mem[b] : "-", other
  }
  print ""
  print "| comparison | PacketFlow / raw Proto.Actor throughput |"
  print "| --- | ---: |"
  split("BenchmarkRequest BenchmarkRequestParallel BenchmarkSend BenchmarkRemoteRequest BenchmarkRemoteRequestParallel", groups, " ")
  for (g = 1; g <= 5; g++) {
    pf = med[groups[g] "/impl=packetflow"]; raw = med[groups[g] "/impl=protoactor"]
    if (pf > 0 && raw > 0) printf "| %s | %.2f |\n", groups[g], raw / pf
  }
}' "$out"

# ---------------------------------------------------------------------------
# Stream (stream/): elements per second through map → filter → sink as a
# pipeline of actors (batching on and off) against a hand-written pipeline
# of three goroutines and channels in the same run, the same pipeline split
# across two actor systems on loopback, and the heap held under a sink 100×
# slower than its source for each overflow strategy. Medians of COUNT runs
# for the in-process throughput; one run for the others.
stream_out=$(mktemp)
trap 'rm -f "$out" "$stream_out"' EXIT
go test -run '^$' -bench '^BenchmarkPipeline$' -benchtime 1s -count "$count" ./stream/ | tee -a "$stream_out" >&2
go test -run '^$' -bench '^BenchmarkRemotePipeline$' -benchtime 1000000x -count 1 ./stream/ | tee -a "$stream_out" >&2
go test -run '^$' -bench '^BenchmarkSlowSinkMemory$' -benchtime 5000x -count 1 ./stream/ | tee -a "$stream_out" >&2
echo
awk '
function median(list,   n, a, i, j, t) {
  n = split(list, a, " ")
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
  return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
/^Benchmark/ {
  name = $1; sub(/-[0-9]+$/, "", name)
  for (i = 3; i < NF; i++) {
    if ($(i+1) == "elems/s") eps[name] = eps[name] " " $i
    if ($(i+1) == "B-held") held[name] = $i
    if ($(i+1) == "max-buffered") buffered[name] = $i
    if ($(i+1) == "dropped-frac") dropped[name] = $i
  }
  if (!(name in seen)) { seen[name] = 1; order[++n] = name }
}
END {
  print "| stream benchmark | median elements/s | ratio to channels |"
  print "| --- | ---: | ---: |"
  ch = median(eps["BenchmarkPipeline/impl=channels"])
  for (k = 1; k <= n; k++) {
    b = order[k]
    if (!(b in eps)) continue
    m = median(eps[b])
    printf "| %s | %.0f | %s |\n", b, m, (ch > 0) ? sprintf("%.2f", m / ch) : "-"
  }
  print ""
  print "| slow sink (100× slower), buffer 1024 × 1 KiB | heap held (bytes) | max buffered | dropped |"
  print "| --- | ---: | ---: | ---: |"
  for (k = 1; k <= n; k++) {
    b = order[k]
    if (b in held) printf "| %s | %s | %s | %s |\n", b, held[b], buffered[b], (b in dropped) ? dropped[b] : "0"
  }
}' "$stream_out"
