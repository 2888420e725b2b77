#!/bin/bash
# Usage: scripts/static-server-bodies.sh [STATIC_SERVER] [ROUNDS]  (after `swift build -c release --product static-server`)
# Interleaved rounds: static-server splicing (default) vs --copy (readAll + writeAll),
# wrk -t1 -c50 on a 64 KiB file, and curl of a 50 MiB file; group of 2 reactors.
B=${1:-.build/release/static-server}
ROUNDS=${2:-5}
DIR=${TMPDIR:-/tmp}/static-bodies/site
mkdir -p $DIR
[ -f $DIR/index.html ] || head -c 65536 /dev/urandom > $DIR/index.html
[ -f $DIR/big.bin ] || head -c 52428800 /dev/urandom > $DIR/big.bin
cat $DIR/big.bin > /dev/null
for r in $(seq 1 $ROUNDS); do
  for mode in splice copy; do
    extra=""; [ $mode = copy ] && extra="--copy"
    $B $DIR 127.0.0.1:0 --reactors 2 $extra > ${TMPDIR:-/tmp}/static-bodies/server.out 2>&1 &
    pid=$!
    while ! grep -q listening ${TMPDIR:-/tmp}/static-bodies/server.out; do sleep 0.05; done
    A=$(head -1 ${TMPDIR:-/tmp}/static-bodies/server.out | sed 's/listening on //')
    rps=$(wrk -t1 -c50 -d3s http://$A/ | awk '/Requests\/sec/ {print $2}')
    big=""
    for k in 1 2 3; do big="$big $(curl -s -o /dev/null -w '%{speed_download}' http://$A/big.bin)"; done
    kill $pid; wait $pid 2>/dev/null
    echo "round $r $mode 64k_rps $rps 50MiB_Bps $big"
  done
done
