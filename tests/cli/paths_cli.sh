#!/usr/bin/env bash
# Output paths are checked before the work (issue 16): a directory where a file is wanted, a
# missing parent, a file where a folder is needed, a folder that cannot be written (EACCES when not
# root; EROFS on a read-only mount where mount works) and a full disk (ENOSPC, through the shim)
# are refused at once, each saying why, before any data is loaded or any training starts.
# usage: paths_cli.sh MUNET SHIM WORKDIR
set -uo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/expect.sh"  # fail, expect
munet=$1
shim=$2
work=$3
rm -rf "$work" && mkdir -p "$work" && cd "$work"
evolve=(evolve --tasks cmaterdb_bangla --task-iterations 1 --children-per-task 2 --parallel-slots 1 --validations 1
        --steps-per-validation 2 --batch-size 8 --max-val-examples 50 --threads 1 --layers 1)
train=(train --task cmaterdb_bangla --steps 2 --validations 1 --batch-size 8 --layers 1 --threads 1)
expect_timeout=120
expect_no_work='^munet (evolve|train): (task |[0-9]+ tasks)|^step '  # refusals come before any work
mkdir adir && echo x > afile
"$munet" "${train[@]}" --save model.h5 > /dev/null 2>&1 || fail "cannot train a model for the tests"

expect 1 "--genealogy adir is a directory; a file name is needed" "${evolve[@]}" --genealogy adir
expect 1 "--genealogy missing/g.csv: its folder missing does not exist or cannot be reached: .*ENOENT" "${evolve[@]}" --genealogy missing/g.csv
expect 1 "--output afile is a file where a folder is needed" "${evolve[@]}" --output afile
expect 1 "--output afile/run: a file on the way is where a folder is needed \(ENOTDIR\)" "${evolve[@]}" --output afile/run
expect 1 "--save adir is a directory" "${train[@]}" --save adir
expect 1 "--save afile/m.h5: a file on the way is where a folder is needed" "${train[@]}" --save afile/m.h5
expect 1 "--save missing/m.h5: its folder missing does not exist" "${train[@]}" --save missing/m.h5
expect 1 "--output adir is a directory" export nothing.h5 --task t --output adir
expect 1 "--logits missing/l.npz: its folder missing does not exist" predict model.h5 --logits missing/l.npz
expect 1 "--output adir is a directory" task pack afile --name t --output adir
expect 1 "--output missing/m.h5: its folder missing does not exist" import afile --output missing/m.h5
# A full disk, seen by the probe file before the work.
LD_PRELOAD=$shim MUNET_ENOSPC_MATCH=.munet-write-probe MUNET_ENOSPC_AFTER=0 "$munet" "${train[@]}" --save m.h5 > out.log 2>&1
[ $? = 1 ] && grep -q -- "--save m.h5: cannot write in \.: No space left on device (ENOSPC)" out.log \
  || fail "full disk: $(cat out.log)"
echo "ok (exit 1): full disk -> $(cat out.log)"
# A folder without write permission (root writes anywhere: then as user nobody, through setpriv).
mkdir locked && chmod 555 locked
as_user=()
[ "$(id -u)" = 0 ] && as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
"${as_user[@]}" "$munet" "${train[@]}" --save locked/m.h5 > out.log 2>&1
[ $? = 1 ] && grep -q -- "--save locked/m.h5: cannot create files in locked: Permission denied (EACCES)" out.log \
  || fail "read-only folder: $(cat out.log)"
echo "ok (exit 1): read-only folder -> $(cat out.log)"
mkdir ro
if mount -t tmpfs -o ro,size=1m tmpfs ro 2>/dev/null; then
  trap 'umount "$work/ro"' EXIT
  expect 1 "--output ro/run: cannot create files in ro: Read-only file system \(EROFS\)" "${evolve[@]}" --output ro/run
else
  echo "note: cannot mount a read-only tmpfs here: the EROFS case is not run"
fi
echo "paths CLI: all checks passed"
