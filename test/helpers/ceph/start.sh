#!/bin/bash
# Single-node Ceph (1 mon, 1 memstore OSD, radosgw; no mgr, no cephx) serving S3 on 127.0.0.1:5500
# for the S3 driver's tests. Ports are fixed (5500 S3, 5510/5511 mon, 5520-5549 OSD): one cluster per
# machine. Idempotent and safe to run concurrently: under a lock, a running cluster is reused, a dead
# one's leftovers are cleared, and only then is a new one started.
# Needs: apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw
# Usage: start.sh [DIR]   (default /tmp/regctl-ceph); OBJECTSTORE=memstore|bluestore
set -euo pipefail
DIR=${1:-/tmp/regctl-ceph}
HERE=$(cd "$(dirname "$0")" && pwd)
RGW_PORT=5500
S3_ACCESS_KEY=${S3_ACCESS_KEY:-TESTACCESSKEY0000001}
S3_SECRET_KEY=${S3_SECRET_KEY:-testsecretkey0000000000000000000000000001}
OBJECTSTORE=${OBJECTSTORE:-memstore}
t0=$(date +%s%N)
log() { echo "[$(date +%T.%3N)] $*"; }
s3_answers() { (exec 3<>/dev/tcp/127.0.0.1/$RGW_PORT) 2>/dev/null; }

# Every caller (CI, vitest workers, people) serialises here; the lock goes with this process.
exec 9>"${DIR}.lock"
flock -w 120 9 || { echo "timed out waiting for ${DIR}.lock" >&2; exit 1; }
if [ -f "$DIR/run/client.rgw.r.pid" ] && kill -0 "$(cat "$DIR/run/client.rgw.r.pid")" 2>/dev/null && s3_answers; then
  echo "S3 already running at http://127.0.0.1:$RGW_PORT ($DIR)"
  exit 0
fi
if s3_answers; then echo "port $RGW_PORT is taken by something other than $DIR's radosgw" >&2; exit 1; fi
[ -e "$DIR" ] && KEEP=0 "$HERE/stop.sh" "$DIR"
# The daemons outlive this script: they must not inherit the lock (fd 9), or it would never be freed.
mkdir -p "$DIR"/{log,run,mon,osd}
export CEPH_CONF="$DIR/ceph.conf"
FSID=$(cat /proc/sys/kernel/random/uuid)

cat > "$CEPH_CONF" <<EOF
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:5510,v1:127.0.0.1:5511]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv4 = true
ms bind ipv6 = false
ms bind port min = 5520
ms bind port max = 5549
auth cluster required = none
auth service required = none
auth client required = none
keyring = /dev/null
run dir = $DIR/run
pid file = $DIR/run/\$name.pid
admin socket = $DIR/run/\$cluster-\$name.asok
log file = $DIR/log/\$name.log
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
mon max pg per osd = 1000

[mon]
mon data = $DIR/mon
mon cluster log file = $DIR/log/mon-cluster.log
mon data avail crit = 0
mon data avail warn = 0
mon allow pool delete = true
# commit map changes at once (default 1 s batching makes each pool create take ~1 s)
paxos propose interval = 0.01
paxos min wait = 0.01

[osd]
osd data = $DIR/osd
osd objectstore = $OBJECTSTORE
memstore device bytes = 4294967296
# keep memstore contents across an OSD restart (fast shutdown skips the save)
osd fast shutdown = false
# bluestore only: sparse 10 GiB file $DIR/osd/block, small cache
bluestore block size = 10737418240
osd memory target = 939524096
bluestore cache autotune = false
bluestore cache size = 134217728
osd class load list = *
osd class default list = *

[client.rgw.r]
# tcp_nodelay=1: without it every GET/LIST response stalls ~40 ms (Nagle + delayed ACK)
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw thread pool size = 64
rgw init timeout = 120
# radosgw defaults ms_mon_client_mode to "secure", which needs cephx -> auth fails with -13
ms mon client mode = crc
# free deleted objects' data within ~10 s instead of 2 h (matters with memstore = RAM)
rgw gc obj min wait = 0
rgw gc processor period = 10
EOF

log mon
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:5510,v1:127.0.0.1:5511]" "$DIR/monmap" >/dev/null
ceph-mon --id a --mkfs --monmap "$DIR/monmap" --keyring /dev/null
ceph-mon --id a 9>&-                    # daemonizes; pid in $DIR/run/mon.a.pid
log osd
OSD_ID=$(ceph osd create)            # -> 0
ceph osd crush add "osd.$OSD_ID" 1 root=default >/dev/null 2>&1
ceph-osd --id "$OSD_ID" --mkfs 2>>"$DIR/log/mkfs.err"
ceph-osd --id "$OSD_ID" 9>&- 2>>"$DIR/log/osd.0.stderr"   # daemonizes; pid in $DIR/run/osd.0.pid
log pools
# pre-create what rgw would otherwise create lazily on first bucket / first object (~2 s each)
for p in .rgw.root default.rgw.control default.rgw.meta default.rgw.log \
         default.rgw.buckets.index default.rgw.buckets.data default.rgw.buckets.non-ec; do
  ceph osd pool create "$p" 8 8 >/dev/null 2>&1
  ceph osd pool application enable "$p" rgw >/dev/null 2>&1
done
log rgw
radosgw -n client.rgw.r 9>&-            # parent returns once rgw is initialised; pid in $DIR/run/client.rgw.r.pid
until (exec 3<>/dev/tcp/127.0.0.1/$RGW_PORT) 2>/dev/null; do sleep 0.2; done
log user
radosgw-admin user create --uid testuser --display-name "Test User" \
  --access-key="$S3_ACCESS_KEY" --secret-key="$S3_SECRET_KEY" >/dev/null
t1=$(date +%s%N)
echo "S3 ready at http://127.0.0.1:$RGW_PORT ($OBJECTSTORE) in $(( (t1 - t0) / 1000000 )) ms"
