#!/bin/bash
# Stands in for the sgdescape binary in TestSlurmSweep: array task
# $CRASH_INDEX is killed (SIGKILL, as by the OOM killer or a lost node) the
# first time it runs, before it can write any record; every other call runs
# the real binary $SGDESCAPE_BIN.
if [ "${SLURM_ARRAY_TASK_ID:-}" = "${CRASH_INDEX:-}" ] && [ ! -e "$CRASH_MARK" ]; then
  touch "$CRASH_MARK"
  echo "simulated crash of array task $SLURM_ARRAY_TASK_ID" >&2
  kill -KILL $$
fi
exec "$SGDESCAPE_BIN" "$@"
