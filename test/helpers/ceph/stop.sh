#!/bin/bash
# Stops the cluster start.sh started (radosgw, then OSD, then monitor, by the PIDs in DIR/run) and
# removes DIR; KEEP=1 keeps it. Usage: stop.sh [DIR]   (default /tmp/regctl-ceph)
DIR=${1:-/tmp/regctl-ceph}
for n in client.rgw.r osd.0 mon.a; do
  f="$DIR/run/$n.pid"; [ -f "$f" ] || continue
  P=$(cat "$f"); kill -TERM "$P" 2>/dev/null || continue
  for i in $(seq 1 100); do kill -0 "$P" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$P" 2>/dev/null && kill -KILL "$P"
done
[ "${KEEP:-0}" = 1 ] || rm -rf "$DIR"
