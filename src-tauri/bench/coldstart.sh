#!/usr/bin/env bash
# Measures the desktop app: seconds from exec to its "Keybench" window being
# mapped, and idle RSS of the app and its WebKit processes 10 s later. Run
# inside xvfb-run and dbus-run-session (docs/BENCHMARKS.md shows how).
# Cold start to a mapped window titled "Keybench", and idle RSS after 10 s.
B=${1:?binary}
for tool in xdotool bc; do
  command -v $tool >/dev/null || { echo "coldstart.sh needs $tool (apt-get install xdotool bc)" >&2; exit 1; }
done
for i in 1 2 3; do
  export KEYBENCH_DATA_DIR=$(mktemp -d)
  t0=$(date +%s.%N)
  "$B" >/dev/null 2>&1 & P=$!
  xdotool search --sync --onlyvisible --name '^Keybench$' >/dev/null
  t1=$(date +%s.%N)
  sleep 10
  main=$(awk '/VmRSS/{print $2}' /proc/$P/status)
  kids=0; for c in $(pgrep -P $P); do kids=$((kids + $(awk '/VmRSS/{print $2}' /proc/$c/status))); done
  printf 'run %d: window mapped after %.2f s; idle RSS app %d KiB + WebKit children %d KiB\n' $i $(echo "$t1 - $t0" | bc) $main $kids
  kill -TERM $P; wait $P 2>/dev/null
done
