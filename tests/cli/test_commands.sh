#!/usr/bin/env bash
# test_commands.sh - the `leakgraph report` and `leakgraph run` commands from
# the outside: JSON validity and facts (jq), text report, exit codes, usage
# errors, and `run` with a stand-in shim (fake_shim.c) so it is tested apart
# from the real one. One check per line; prints "N passed, N failed".
#
#   test_commands.sh LEAKGRAPH MAKE_TRACE FAKE_SHIM STATIC_PROG
set -u
lg=$1 make_trace=$2 fake_shim=$3 static_prog=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 failed=0

ok() { pass=$((pass + 1)); echo "ok: $1"; }
bad() { failed=$((failed + 1)); echo "FAIL: $1"; }
# check NAME COMMAND...: the command must succeed
check() { local name=$1; shift; if "$@" >/dev/null 2>&1; then ok "$name"; else bad "$name"; fi; }
# fact NAME FILE JQ: the jq expression must print true
fact() {
    local got
    got=$(jq -r "$3" "$2" 2>&1)
    if [ "$got" = "true" ]; then ok "$1"; else bad "$1 (got: $got)"; fi
}
# status NAME WANT COMMAND...: the command's exit status
status() {
    local name=$1 want=$2; shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" -eq "$want" ]; then ok "$name"; else bad "$name (exit $got, want $want; $(head -c 300 "$tmp/err"))"; fi
}
# stderr_has NAME TEXT: the last command's stderr holds TEXT, in one line
stderr_has() {
    if grep -qF -- "$2" "$tmp/err" && [ "$(wc -l <"$tmp/err")" -le 2 ]; then ok "$1"; else bad "$1 ($(cat "$tmp/err"))"; fi
}

for s in leak clean possible many weird epochs; do "$make_trace" $s "$tmp/$s.trace"; done
head -c 200 "$tmp/leak.trace" >"$tmp/corrupt.trace"
printf 'LGTRACE\0garbage that goes on long enough' >"$tmp/garbage.trace"

# ---- report --format json: valid, and the facts of the leak scenario
"$lg" report --format json "$tmp/leak.trace" >"$tmp/leak.json"
check "report_json_is_valid" jq -e . "$tmp/leak.json"
fact "report_json_format_1" "$tmp/leak.json" '.format == 1'
fact "report_json_one_process" "$tmp/leak.json" '.processes | length == 1'
fact "report_json_pid" "$tmp/leak.json" '.processes[0].pid == 4242'
fact "report_json_snapshot_exit" "$tmp/leak.json" '.processes[0].snapshot == "exit"'
fact "report_json_summary_cycles" "$tmp/leak.json" '.processes[0].summary | .garbage_cycles == 1 and .cycle_objects == 2 and .reference_leaks == 1'
fact "report_json_summary_memcheck_definite" "$tmp/leak.json" '.processes[0].summary.definitely_lost == {"bytes": 156, "blocks": 3}'
fact "report_json_summary_memcheck_indirect" "$tmp/leak.json" '.processes[0].summary.indirectly_lost == {"bytes": 48, "blocks": 1}'
fact "report_json_cycle_members" "$tmp/leak.json" '[.processes[0].leaks[] | select(.kind == "garbage_cycle")][0].cycle.members | map(.type) | sort == ["A", "B"]'
fact "report_json_cycle_edges_fields" "$tmp/leak.json" '[.processes[0].leaks[] | select(.kind == "garbage_cycle")][0].cycle.edges | map(.field) | sort == ["a", "b"]'
fact "report_json_cycle_edges_join_members" "$tmp/leak.json" '[.processes[0].leaks[] | select(.kind == "garbage_cycle")][0].cycle | ([.members[].address] | sort) == ([.edges[].from] | sort)'
fact "report_json_definite_record" "$tmp/leak.json" '[.processes[0].leaks[] | select(.kind == "definitely_lost")] | length == 1 and .[0].bytes == 100 and .[0].blocks == 1 and .[0].type == null'
fact "report_json_refleak_record" "$tmp/leak.json" '[.processes[0].leaks[] | select(.kind == "reference_leak")][0] | .type == "Obj" and .external == 2'
fact "report_json_refleak_unmatched" "$tmp/leak.json" '[.processes[0].leaks[] | select(.kind == "reference_leak")][0].unmatched_increfs | length == 2'
fact "report_json_stack_frames" "$tmp/leak.json" '[.processes[0].leaks[] | select(.kind == "definitely_lost")][0].stack[0] | (.address | test("^0x[0-9a-f]+$")) and has("function") and has("file") and has("line") and has("module")'
fact "report_json_addresses_hex" "$tmp/leak.json" '[.. | .address? | strings] | length > 0 and all(test("^0x[0-9a-f]+$"))'
fact "report_json_no_reachable_without_flag" "$tmp/leak.json" '[.processes[0].leaks[] | select(.kind == "still_reachable")] | length == 0'
fact "report_json_sorted_by_bytes" "$tmp/leak.json" '[.processes[0].leaks[] | .bytes + (.owned_bytes // 0)] | . == (sort | reverse)'

"$lg" report --format json --show-reachable "$tmp/leak.trace" >"$tmp/reach.json"
fact "report_show_reachable_adds_record" "$tmp/reach.json" '[.processes[0].leaks[] | select(.kind == "still_reachable")] | length == 1'
fact "report_show_reachable_has_root_path" "$tmp/reach.json" '[.processes[0].leaks[] | select(.kind == "still_reachable")][0].path.root.region == "module_data"'

"$lg" report --format json --max-records 2 "$tmp/many.trace" >"$tmp/many.json"
fact "report_max_records_limits" "$tmp/many.json" '(.processes[0].leaks | length == 2) and .processes[0].records_not_shown == 18'

"$lg" report --format json "$tmp/weird.trace" >"$tmp/weird.json"
check "report_json_escapes_strings" jq -e . "$tmp/weird.json"
fact "report_json_keeps_quotes" "$tmp/weird.json" '.processes[0].exe == "/bin/we\"ird\\prog\u007f"'

"$lg" report --format json "$tmp/leak.trace" "$tmp/clean.trace" >"$tmp/two.json"
fact "report_two_traces_two_processes" "$tmp/two.json" '.processes | length == 2'
fact "report_combined_verdict" "$tmp/two.json" '.verdict == {"fail_on": "definite", "fails": true, "processes": 2, "failing_processes": 1}'

# ---- report: a plugin unloaded and another loaded at its address (EPOCHS)
"$lg" report --format json "$tmp/epochs.trace" >"$tmp/epochs.json" 2>/dev/null
fact "report_epochs_two_records_same_addresses" "$tmp/epochs.json" '[.processes[0].leaks[] | select(.kind == "definitely_lost")] | length == 2'
fact "report_epochs_each_stack_its_module" "$tmp/epochs.json" '[.processes[0].leaks[] | select(.kind == "definitely_lost") | {bytes, m: .stack[0].module}] | sort_by(.bytes) == [{"bytes": 100, "m": "libplug_a.so"}, {"bytes": 200, "m": "libplug_b.so"}]'

# ---- report: text
"$lg" report "$tmp/leak.trace" >"$tmp/leak.txt"
check "report_text_loss_record_line" grep -q "100 bytes in 1 blocks are definitely lost in loss record" "$tmp/leak.txt"
check "report_text_cycle_path" grep -qF "cycle: A.b -> B, B.a -> A" "$tmp/leak.txt"
check "report_text_summary" grep -q "LEAK SUMMARY:" "$tmp/leak.txt"
check "report_text_refcount_counters" grep -q "garbage cycles: 1 (2 objects)" "$tmp/leak.txt"
check "report_text_verdict" grep -q "1 of 1 process has leaks that fail --fail-on definite" "$tmp/leak.txt"

# ---- report: exit codes
status "report_good_trace_exits_0" 0 "$lg" report "$tmp/leak.trace"
status "report_corrupt_trace_exits_3" 3 "$lg" report --format json "$tmp/corrupt.trace" "$tmp/clean.trace"
fact "report_corrupt_still_reports_good" "$tmp/out" '.processes | length == 1'
stderr_has "report_corrupt_names_file" "corrupt.trace: truncated at offset"
status "report_garbage_header_exits_3" 3 "$lg" report "$tmp/garbage.trace"
stderr_has "report_garbage_header_says_corrupt" "garbage.trace: corrupt file header"
status "report_missing_trace_exits_3" 3 "$lg" report "$tmp/nope.trace"
status "report_no_trace_is_usage_error" 2 "$lg" report
status "report_bad_format_is_usage_error" 2 "$lg" report --format xml "$tmp/leak.trace"
stderr_has "report_bad_format_one_line" "--format must be text, json or sarif"
status "report_unknown_option_is_usage_error" 2 "$lg" report --frobnicate "$tmp/leak.trace"
status "report_unwritable_output_is_usage_error" 2 "$lg" report --output "$tmp/no/such/dir/r.json" "$tmp/leak.trace"
status "report_bad_max_records_is_usage_error" 2 "$lg" report --max-records lots "$tmp/leak.trace"
status "unknown_command_is_usage_error" 2 "$lg" frobnicate

# ---- run: refusals before anything runs
status "run_missing_program_exits_2" 2 "$lg" run -- "$tmp/does-not-exist"
stderr_has "run_missing_program_message" "does-not-exist: No such file or directory"
status "run_program_not_on_path_exits_2" 2 "$lg" run -- leakgraph-no-such-program-xyz
printf '#!/bin/sh\nexit 0\n' >"$tmp/noexec.sh"
chmod -x "$tmp/noexec.sh"
status "run_not_executable_exits_2" 2 "$lg" run -- "$tmp/noexec.sh"
status "run_static_program_exits_2" 2 "$lg" run -- "$static_prog"
stderr_has "run_static_program_message" "is statically linked; the shim cannot see its allocations"
status "run_without_program_exits_2" 2 "$lg" run --format json
status "run_bad_fail_on_exits_2" 2 "$lg" run --fail-on sometimes -- /bin/true
status "run_unwritable_output_exits_2" 2 env LEAKGRAPH_SHIM="$fake_shim" "$lg" run --output "$tmp/no/dir/r.txt" -- /usr/bin/touch "$tmp/ran"
check "run_unwritable_output_does_not_run" test ! -e "$tmp/ran"

# ---- run with the stand-in shim
export LEAKGRAPH_SHIM=$fake_shim
status "run_leak_exits_23" 23 "$lg" run -- /bin/true
status "run_error_exitcode_changes_status" 5 "$lg" run --error-exitcode 5 -- /bin/true
status "run_fail_on_none_passes" 0 "$lg" run --fail-on none -- /bin/true
FAKE_SHIM_SCENARIO=clean status "run_clean_keeps_program_status" 7 "$lg" run -- /bin/sh -c 'exit 7'
FAKE_SHIM_SCENARIO=possible status "run_possible_passes_default_gate" 0 "$lg" run -- /bin/true
FAKE_SHIM_SCENARIO=possible status "run_possible_fails_possible_gate" 23 "$lg" run --fail-on possible -- /bin/true
FAKE_SHIM_SCENARIO=clean status "run_reachable_fails_reachable_gate" 23 "$lg" run --fail-on reachable -- /bin/true
status "run_signal_exits_128_plus_n" 143 "$lg" run --format json --output "$tmp/sig.json" -- /bin/sh -c 'kill -TERM $$'
fact "run_signal_reported" "$tmp/sig.json" '.processes[0].signal == 15'
"$lg" run --format json --output "$tmp/kids.json" -- /bin/sh -c '/bin/true; /bin/true; exit 0' >/dev/null 2>&1
fact "run_reports_child_processes" "$tmp/kids.json" '.processes | length >= 2'
"$lg" run --keep-traces "$tmp/kept" -- /bin/true >/dev/null 2>&1
check "run_keep_traces_keeps_files" compgen -G "$tmp/kept/leakgraph.*.trace"
mkdir "$tmp/private"
TMPDIR=$tmp/private "$lg" run -- /bin/true >/dev/null 2>&1
if [ -z "$(ls -A "$tmp/private")" ]; then ok "run_removes_trace_dir"; else bad "run_removes_trace_dir"; fi
"$lg" run -- /bin/true >"$tmp/run.txt" 2>&1
check "run_text_report_on_stdout" grep -q "LEAK SUMMARY:" "$tmp/run.txt"
export LEAKGRAPH_SHIM=/nonexistent/libleakgraph.so
status "run_bad_shim_env_exits_2" 2 "$lg" run -- /bin/true

echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
