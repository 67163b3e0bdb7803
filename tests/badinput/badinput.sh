#!/bin/sh
# badinput.sh - one bad-input, truncation or files-and-privileges case of
# issue 6 from the outside, with the real CLI and the real shim. Each case
# checks: exactly one line on stderr (compared in full where it is fixed),
# the documented exit status, the wrapped program's own output and status
# when it runs, and that no file of the user's is changed.
#
#   env LG=... SHIM=... PROG=... (see CMakeLists.txt) badinput.sh CASE
#
# Cases that need a file system that really fails for root (read-only, full)
# make one in a private mount namespace (unshare -m; unshare -rm when not
# root), so nothing is left mounted. Exits non-zero with one line per failed
# check.
set -u
case_name=$1
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0
bad() { echo "FAIL $case_name: $*"; fails=$((fails + 1)); }

# run CMD...: stdout in $tmp/out, stderr in $tmp/err, status in $st
run() { "$@" >"$tmp/out" 2>"$tmp/err"; st=$?; }
status_is() { [ "$st" = "$1" ] || bad "$2: exit $st, want $1 (stderr: $(head -c 300 "$tmp/err"))"; }
# one_line WHAT TEXT: stderr is exactly the line TEXT
one_line() {
    nl=$(wc -l <"$tmp/err")
    [ "$nl" = 1 ] && [ "$(cat "$tmp/err")" = "$2" ] || bad "$1: stderr [$(cat "$tmp/err")], want [$2]"
}
# one_line_has WHAT TEXT...: stderr is one line holding every TEXT
one_line_has() {
    what=$1; shift
    nl=$(wc -l <"$tmp/err")
    [ "$nl" = 1 ] || { bad "$what: $nl lines on stderr: [$(cat "$tmp/err")]"; return; }
    for t in "$@"; do
        grep -qF -- "$t" "$tmp/err" || bad "$what: stderr [$(cat "$tmp/err")] lacks [$t]"
    done
}
prog_ran() {   # prog_ran WHAT STATUS: PROG's own line and status came through
    status_is "$2" "$1"
    [ "$(cat "$tmp/out")" = "prog_status says hello, exiting $2" ] || bad "$1: program output [$(cat "$tmp/out")]"
}
prog_did_not_run() { ! grep -q "prog_status says" "$tmp/out" || bad "$1: the program ran"; }
under() { env LD_PRELOAD="$SHIM" "$@"; }
# in_ns SCRIPT ARGS...: sh -c SCRIPT in a private mount namespace
in_ns() {
    if [ "$(id -u)" = 0 ]; then unshare -m sh -c "$@"; else unshare -rm sh -c "$@"; fi
}
# a real trace of PROG (leaks 64 bytes) in $tmp/good.trace
make_good() { under LEAKGRAPH_OUTPUT="$tmp/good.trace" "$PROG" 0 >/dev/null 2>&1; }
# every reading command on trace $1 must exit 3 with one line holding $2
all_readers_refuse() {
    for c in report check graph diff; do
        if [ $c = diff ]; then run "$LG" diff "$1" "$tmp/good.trace"; else run "$LG" $c "$1"; fi
        status_is 3 "$c"
        one_line_has "$c" "$1: $2"
    done
}
keep_sum() { cksum "$@" >"$tmp/sums"; }
sums_same() { cksum "$@" | cmp -s - "$tmp/sums" || bad "$1: a file of the user's changed"; }

case $case_name in
missing_program)   # also covered by cli_commands (exit code); here: the exact line
    run "$LG" run -- "$tmp/does-not-exist" 1
    status_is 2 "path"
    one_line "path" "leakgraph: $tmp/does-not-exist: No such file or directory"
    run env PATH="$tmp" "$LG" run -- leakgraph-no-such-program
    status_is 2 "PATH search"
    one_line "PATH search" "leakgraph: leakgraph-no-such-program: No such file or directory"
    ;;
program_not_executable)
    cp "$PROG" "$tmp/prog" && chmod 644 "$tmp/prog"
    keep_sum "$tmp/prog"
    run "$LG" run -- "$tmp/prog" 5
    status_is 2 "mode 644"
    one_line "mode 644" "leakgraph: $tmp/prog: Permission denied"
    prog_did_not_run "mode 644"
    run "$LG" run -- "$tmp"
    status_is 2 "a directory"
    one_line "a directory" "leakgraph: $tmp: Is a directory"
    sums_same "$tmp/prog"
    ;;
static_program)
    run "$LG" run -- "$STATIC_PROG"
    status_is 2 "static"
    one_line "static" "leakgraph: $STATIC_PROG is statically linked; the shim cannot see its allocations"
    ;;
empty_trace)
    make_good || bad "no good trace"
    : >"$tmp/empty.trace"
    all_readers_refuse "$tmp/empty.trace" "empty file, not a leakgraph trace"
    [ -f "$tmp/empty.trace" ] && [ ! -s "$tmp/empty.trace" ] || bad "the empty file changed"
    # a good trace given with it is still reported
    run "$LG" report --format json "$tmp/empty.trace" "$tmp/good.trace"
    status_is 3 "report with a good one"
    grep -q '"pid"' "$tmp/out" || bad "the good trace was not reported"
    ;;
foreign_trace)
    make_good || bad "no good trace"
    cp "$PROG" "$tmp/elf.trace"
    printf 'hello, I am a text file that someone named .trace\n' >"$tmp/text.trace"
    printf 'LG' >"$tmp/short.trace"
    keep_sum "$tmp/elf.trace" "$tmp/text.trace"
    all_readers_refuse "$tmp/elf.trace" "not a leakgraph trace"
    all_readers_refuse "$tmp/text.trace" "not a leakgraph trace"
    all_readers_refuse "$tmp/short.trace" "not a leakgraph trace"
    run "$LG" report "$tmp"
    status_is 3 "a directory"
    one_line_has "a directory" "$tmp: not a regular file"
    sums_same "$tmp/elf.trace" "$tmp/text.trace"
    ;;
newer_version_trace)
    make_good || bad "no good trace"
    cp "$tmp/good.trace" "$tmp/newer.trace"
    printf '\003' | dd of="$tmp/newer.trace" bs=1 seek=8 conv=notrunc 2>/dev/null
    all_readers_refuse "$tmp/newer.trace" "trace format version 3 is newer than this leakgraph (2)"
    ;;
output_dir_missing)
    make_good || bad "no good trace"
    # the shim: one line, the program runs as it would, nothing created
    run under LEAKGRAPH_OUTPUT="$tmp/missing/t.trace" "$PROG" 7
    prog_ran "shim" 7
    one_line "shim" "leakgraph: cannot write $tmp/missing/t.trace: No such file or directory; no trace written"
    [ ! -e "$tmp/missing" ] || bad "shim created the directory"
    # run: refused before the program runs
    run "$LG" run --output "$tmp/missing/r.txt" -- "$PROG" 7
    status_is 2 "run --output"
    one_line "run --output" "leakgraph: $tmp/missing/r.txt: No such file or directory"
    prog_did_not_run "run --output"
    run "$LG" run --keep-traces "$tmp/missing/deeper" -- "$PROG" 7
    status_is 2 "run --keep-traces"
    one_line "run --keep-traces" "leakgraph: --keep-traces $tmp/missing/deeper: No such file or directory"
    prog_did_not_run "run --keep-traces"
    for c in report check graph diff; do
        if [ $c = diff ]; then set -- "$tmp/good.trace" "$tmp/good.trace"; else set -- "$tmp/good.trace"; fi
        run "$LG" $c --output "$tmp/missing/r.txt" "$@"
        status_is 2 "$c --output"
        one_line_has "$c --output" "$tmp/missing/r.txt: No such file or directory"
    done
    ;;
output_dir_readonly)
    # root writes into a mode-555 directory, so the directory is made
    # read-only for real: a read-only bind mount (EROFS) in a private mount
    # namespace; as another user, mode 555 is enough (EACCES)
    make_good || bad "no good trace"
    mkdir "$tmp/ro" && echo precious >"$tmp/ro/keep.txt"
    keep_sum "$tmp/ro/keep.txt"
    cat >"$tmp/ro.sh" <<'EOF'
d=$1; shift
if [ "$(id -u)" = 0 ]; then
    mount --bind -o ro "$d" "$d" || { echo "setup: cannot bind-mount read-only (needs CAP_SYS_ADMIN)" >&2; exit 99; }
else chmod 555 "$d"; fi
if touch "$d/probe" 2>/dev/null; then echo "still writable" >&2; exit 98; fi
exec "$@"
EOF
    ro() { in_ns 'exec sh "$0" "$@"' "$tmp/ro.sh" "$tmp/ro" "$@"; }
    if [ "$(id -u)" = 0 ]; then why="Read-only file system"; else why="Permission denied"; fi
    run ro env LD_PRELOAD="$SHIM" LEAKGRAPH_OUTPUT="$tmp/ro/t.trace" "$PROG" 7
    prog_ran "shim" 7
    one_line "shim" "leakgraph: cannot write $tmp/ro/t.trace: $why; no trace written"
    run ro "$LG" run --output "$tmp/ro/r.txt" -- "$PROG" 7
    status_is 2 "run --output"
    one_line "run --output" "leakgraph: $tmp/ro/r.txt: $why"
    prog_did_not_run "run --output"
    run ro "$LG" run --keep-traces "$tmp/ro" -- "$PROG" 7
    status_is 2 "run --keep-traces"
    one_line "run --keep-traces" "leakgraph: --keep-traces $tmp/ro: $why"
    prog_did_not_run "run --keep-traces"
    for c in report check graph; do
        run ro "$LG" $c --output "$tmp/ro/r.txt" "$tmp/good.trace"
        status_is 2 "$c --output"
        one_line_has "$c --output" "$tmp/ro/r.txt: $why"
    done
    sums_same "$tmp/ro/keep.txt"
    [ "$(ls -A "$tmp/ro")" = keep.txt ] || bad "files appeared: $(ls -A "$tmp/ro")"
    ;;
disk_full)
    make_good || bad "no good trace"
    # 1. ENOSPC: a 64 KB tmpfs filled to the last byte (private namespace)
    mkdir "$tmp/full"
    cat >"$tmp/full.sh" <<'EOF'
d=$1; shift
mount -t tmpfs -o size=64k tmpfs "$d" || { echo "setup: cannot mount a tmpfs (needs CAP_SYS_ADMIN or user namespaces)" >&2; exit 99; }
dd if=/dev/zero of="$d/fill" bs=4096 2>/dev/null
[ "$(stat -c %s "$d/fill")" = 65536 ] || exit 98
"$@"; s=$?
[ "$(stat -c %s "$d/fill")" = 65536 ] || { echo "the filler changed" >&2; exit 97; }
for f in "$d"/*.trace "$d"/*.txt; do [ -e "$f" ] && cp "$f" "$d.out.$(basename "$f")"; done
exit $s
EOF
    full() { in_ns 'exec sh "$0" "$@"' "$tmp/full.sh" "$tmp/full" "$@"; }
    run full env LD_PRELOAD="$SHIM" LEAKGRAPH_OUTPUT="$tmp/full/t.trace" "$PROG" 7
    prog_ran "shim ENOSPC" 7
    one_line "shim ENOSPC" "leakgraph: cannot write $tmp/full/t.trace: No space left on device; trace incomplete"
    run "$LG" report "$tmp/full.out.t.trace"
    status_is 3 "report of what the full disk kept"
    one_line_has "report of what the full disk kept" "$tmp/full.out.t.trace: empty file, not a leakgraph trace"
    for c in report check graph; do
        run full "$LG" $c --output "$tmp/full/r.txt" "$tmp/good.trace"
        status_is 2 "$c --output on a full disk"
        one_line_has "$c --output on a full disk" "$tmp/full/r.txt: cannot write" "No space left on device"
    done
    run full "$LG" diff --output "$tmp/full/r.txt" "$tmp/good.trace" "$tmp/good.trace"
    status_is 2 "diff --output on a full disk"
    one_line_has "diff --output on a full disk" "$tmp/full/r.txt: cannot write: No space left on device"
    # run: the trace is lost, so no verdict: exit 3, never the program's 0
    run full "$LG" run --keep-traces "$tmp/full" -- "$PROG" 0
    status_is 3 "run on a full disk"
    grep -qF "No space left on device; trace incomplete" "$tmp/err" || bad "run on a full disk: shim line missing"
    # 2. EFBIG: RLIMIT_FSIZE (ulimit -f 1) with SIGXFSZ ignored cuts the trace short
    run sh -c 'ulimit -f 1; trap "" XFSZ; exec env LD_PRELOAD="$0" LEAKGRAPH_OUTPUT="$1" "$2" 7' \
        "$SHIM" "$tmp/big.trace" "$PROG"
    prog_ran "shim EFBIG" 7
    one_line "shim EFBIG" "leakgraph: cannot write $tmp/big.trace: File too large; trace incomplete"
    size=$(stat -c %s "$tmp/big.trace")
    [ "$size" -gt 0 ] && [ "$size" -le 1024 ] || bad "EFBIG: trace is $size bytes"
    run "$LG" report "$tmp/big.trace"
    status_is 3 "report of the cut trace"
    one_line_has "report of the cut trace" "$tmp/big.trace: truncated at offset $size"
    # 3. /dev/full named as the trace: written to (ENOSPC), not renamed
    #    around; /dev/null likewise swallows the trace quietly
    run under LEAKGRAPH_OUTPUT=/dev/full "$PROG" 7
    prog_ran "shim /dev/full" 7
    one_line "shim /dev/full" "leakgraph: cannot write /dev/full: No space left on device; trace incomplete"
    run under LEAKGRAPH_OUTPUT=/dev/null "$PROG" 7
    prog_ran "shim /dev/null" 7
    [ ! -s "$tmp/err" ] || bad "shim /dev/null: stderr [$(cat "$tmp/err")]"
    for f in /dev/full.1 /dev/null.1; do
        [ ! -e "$f" ] || { bad "the shim created $f"; rm -f "$f"; }
    done
    # 4. report to a full stdout
    run sh -c '"$0" report "$1" >/dev/full' "$LG" "$tmp/good.trace"
    status_is 2 "report to /dev/full"
    one_line "report to /dev/full" "leakgraph: stdout: cannot write the report: No space left on device"
    ;;
unknown_option)
    make_good || bad "no good trace"
    for c in run report check diff graph; do
        case $c in
        run) set -- -- "$PROG" 7 ;;
        diff) set -- "$tmp/good.trace" "$tmp/good.trace" ;;
        *) set -- "$tmp/good.trace" ;;
        esac
        run "$LG" $c --frobnicate "$@"
        status_is 2 "$c"
        one_line_has "$c" "unknown" "'--frobnicate'"
        prog_did_not_run "$c"
    done
    run "$LG" frobnicate
    status_is 2 "unknown command"
    [ "$(wc -l <"$tmp/err")" -ge 1 ] || bad "unknown command: nothing said"
    ;;
invalid_option_value)
    make_good || bad "no good trace"
    g=$tmp/good.trace
    # CMD... | the line's text (the option and the bad value)
    while IFS='|' read -r args want; do
        # shellcheck disable=SC2086
        run "$LG" $args
        status_is 2 "$args"
        one_line_has "$args" "$want"
        prog_did_not_run "$args"
    done <<EOF
run --fail-on sometimes -- $PROG 7|--fail-on must be none, definite, possible or reachable, not 'sometimes'
run --error-exitcode 300 -- $PROG 7|--error-exitcode needs a number from 0 to 255, not '300'
run --max-records -3 -- $PROG 7|--max-records needs a number (0 = all), not '-3'
report --format xml $g|--format must be text, json or sarif
report --max-records lots $g|--max-records needs a number (0 = all), not 'lots'
check --fail-on x $g|--fail-on x
check --max-bytes lots $g|--max-bytes
diff --format xml $g $g|--format xml
diff --top many $g $g|--top
graph --cycle x $g|--cycle x
graph --cycle 9 $g|no cycle 9
diff $g#0 $g|#0
EOF
    ;;
truncated_trace_reports_complete_snapshots)
    # a real three-snapshot trace cut at every section's start, inside its
    # header, inside its payload and one byte before its end, as a killed
    # process leaves it: report says what is missing and reports the last
    # complete snapshot (exit 0), or exits 3 when none is complete
    under LEAKGRAPH_OUTPUT="$tmp/three.trace" "$SNAP_PROG" >/dev/null 2>&1 || bad "snapshots program failed"
    "$SECTIONS" "$tmp/three.trace" >"$tmp/cuts" || bad "cannot list sections"
    [ "$(awk '$2 == 2' "$tmp/cuts" | wc -l)" -ge 4 ] || bad "fewer than 3 snapshots: $(tail -1 "$tmp/cuts")"
    ncuts=0
    while read -r off complete; do
        ncuts=$((ncuts + 1))
        head -c "$off" "$tmp/three.trace" >"$tmp/cut.trace"
        run "$LG" report --format json "$tmp/cut.trace"
        if [ "$complete" = 0 ]; then
            status_is 3 "cut at $off"
            one_line_has "cut at $off" "$tmp/cut.trace: "
        else
            status_is 0 "cut at $off"
            if grep -q "no exit snapshot" "$tmp/err"; then    # cut at a snapshot's end
                one_line_has "cut at $off" "$tmp/cut.trace: no exit snapshot (the process was killed" \
                    "reporting snapshot $complete, the last one written"
            else
                one_line_has "cut at $off" "$tmp/cut.trace: " "at offset $off (" \
                    "; reporting snapshot $complete, the last complete one"
                jq -e --arg off "$off" '.processes | length == 1 and
                    (.[0].incomplete | test("at offset " + $off))' "$tmp/out" >/dev/null \
                    || bad "cut at $off: JSON lacks what is missing"
            fi
        fi
    done <"$tmp/cuts"
    [ "$ncuts" -ge 40 ] || bad "only $ncuts cuts"
    # the whole trace: no warning, three snapshots, the last reported
    run "$LG" report "$tmp/three.trace"
    status_is 0 "whole trace"
    [ ! -s "$tmp/err" ] || bad "whole trace: stderr [$(cat "$tmp/err")]"
    ;;
trace_mode_0600)
    run sh -c 'umask 000; exec env LD_PRELOAD="$0" LEAKGRAPH_OUTPUT="$1" "$2" 7' "$SHIM" "$tmp/t.trace" "$PROG"
    prog_ran "umask 000" 7
    [ "$(stat -c %a "$tmp/t.trace")" = 600 ] || bad "mode $(stat -c %a "$tmp/t.trace")"
    [ "$(stat -c %u "$tmp/t.trace")" = "$(id -u)" ] || bad "owner $(stat -c %u "$tmp/t.trace")"
    mkdir "$tmp/kept"
    run sh -c 'umask 000; exec "$0" run --keep-traces "$1" -- "$2" 0' "$LG" "$tmp/kept" "$PROG"
    for f in "$tmp"/kept/*.trace; do
        [ "$(stat -c %a "$f")" = 600 ] || bad "run --keep-traces: $f mode $(stat -c %a "$f")"
    done
    ;;
symlink_at_output_not_followed)
    echo precious >"$tmp/victim"
    keep_sum "$tmp/victim"
    ln -s "$tmp/victim" "$tmp/t.trace"
    run under LEAKGRAPH_OUTPUT="$tmp/t.trace" "$PROG" 7
    prog_ran "symlink to a file" 7
    [ ! -s "$tmp/err" ] || bad "symlink to a file: stderr [$(cat "$tmp/err")]"
    sums_same "$tmp/victim"
    [ -L "$tmp/t.trace" ] || bad "the symlink was replaced"
    "$LG" report "$tmp/t.trace.1" >/dev/null 2>&1 || bad "the trace is not in t.trace.1"
    # a dangling link: its target is never created
    ln -s "$tmp/planted" "$tmp/d.trace"
    run under LEAKGRAPH_OUTPUT="$tmp/d.trace" "$PROG" 7
    prog_ran "dangling symlink" 7
    [ ! -e "$tmp/planted" ] || bad "the dangling link's target was created"
    [ -f "$tmp/d.trace.1" ] && [ ! -L "$tmp/d.trace.1" ] || bad "no trace in d.trace.1"
    ;;
existing_trace_not_overwritten)
    # a fixed name (no %p), as when a pid is reused: the second process
    # writes t.trace.1, the first one's trace stays byte for byte
    under LEAKGRAPH_OUTPUT="$tmp/t.trace" "$PROG" 0 >/dev/null 2>&1
    keep_sum "$tmp/t.trace"
    run under LEAKGRAPH_OUTPUT="$tmp/t.trace" "$PROG" 7
    prog_ran "second process" 7
    sums_same "$tmp/t.trace"
    [ -f "$tmp/t.trace.1" ] || bad "no t.trace.1"
    for f in "$tmp/t.trace" "$tmp/t.trace.1"; do
        "$LG" report "$f" >/dev/null 2>&1 || bad "$f does not load"
    done
    run under LEAKGRAPH_OUTPUT="$tmp/t.trace" "$PROG" 7
    [ -f "$tmp/t.trace.2" ] || bad "no t.trace.2"
    ;;
setuid_program_left_alone)
    # SECURE_PROG needs the shim (DT_NEEDED by absolute path), so the shim is
    # really inside the setuid process, unlike with LD_PRELOAD, which the
    # loader drops in secure mode (preload_setuid_target_left_alone)
    mkdir "$tmp/plain" "$tmp/s"
    run env LEAKGRAPH_OUTPUT="$tmp/plain/t.trace" "$SECURE_PROG"
    status_is 0 "control"
    [ "$(cat "$tmp/out")" = "secure=0 shim=1 snapshot=written" ] || bad "control: [$(cat "$tmp/out")]"
    [ -f "$tmp/plain/t.trace" ] || bad "control: no trace"
    [ "$(id -u)" = 0 ] || { bad "needs root to make a setuid-root program (CI runs as root)"; exit 1; }
    cp "$SECURE_PROG" "$tmp/s/secure_prog" && chown root:root "$tmp/s/secure_prog" &&
        chmod 4755 "$tmp/s/secure_prog" || bad "cannot make a setuid copy"
    chmod 755 "$tmp"
    chmod 1777 "$tmp/s"
    run setpriv --reuid=65534 --regid=65534 --clear-groups \
        env LEAKGRAPH_OUTPUT="$tmp/s/t.trace" "$tmp/s/secure_prog"
    status_is 0 "setuid"
    [ "$(cat "$tmp/out")" = "secure=1 shim=1 snapshot=refused" ] || bad "setuid: [$(cat "$tmp/out")]"
    [ ! -s "$tmp/err" ] || bad "setuid: stderr [$(cat "$tmp/err")]"
    [ -z "$(ls "$tmp/s" | grep -v '^secure_prog$')" ] || bad "setuid: wrote $(ls "$tmp/s")"
    ;;
cli_never_runs_what_a_trace_names)
    # a trace whose exe is a script and whose modules include a library with
    # a constructor: both would create a marker if anything ran or loaded them
    mkdir "$tmp/m"
    cp "$MARKER_PROG" "$tmp/m/prog" && cp "$MARKER_LIB" "$tmp/m/libmark.so"
    env -u LG_MARKER LD_PRELOAD="$SHIM" LEAKGRAPH_OUTPUT="$tmp/m/t.trace" "$tmp/m/prog" "$tmp/m/libmark.so" \
        || bad "marker program failed"
    grep -aq "$tmp/m/libmark.so" "$tmp/m/t.trace" || bad "trace does not name the library"
    grep -aq "$tmp/m/prog" "$tmp/m/t.trace" || bad "trace does not name the program"
    printf '#!/bin/sh\ntouch "$LG_MARKER"\n' >"$tmp/m/prog"
    chmod 755 "$tmp/m/prog"
    # controls: the script and the library do create the marker when run/loaded
    LG_MARKER=$tmp/ctl1 "$tmp/m/prog"
    LG_MARKER=$tmp/ctl2 "$MARKER_PROG" "$tmp/m/libmark.so"
    [ -e "$tmp/ctl1" ] && [ -e "$tmp/ctl2" ] || bad "the markers do not work"
    export LG_MARKER="$tmp/marker"
    unset DEBUGINFOD_URLS LEAKGRAPH_DEBUGINFO_PATH
    t=$tmp/m/t.trace
    for args in "report $t" "report --show-reachable --format json $t" "report --format sarif $t" \
                "check $t" "check --format json $t" "diff $t $t" "graph $t"; do
        # shellcheck disable=SC2086
        "$LG" $args >/dev/null 2>&1
        [ ! -e "$tmp/marker" ] || { bad "'leakgraph $args' ran or loaded something the trace names"; rm -f "$tmp/marker"; }
    done
    ;;
*)
    bad "unknown case"
    ;;
esac
[ "$fails" = 0 ] && echo "ok $case_name"
[ "$fails" = 0 ]
