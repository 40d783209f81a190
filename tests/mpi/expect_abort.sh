#!/bin/sh
# Run a command that must end with a failure after printing "submitted" and
# before printing "survived": an MPI job whose worker rank died is aborted,
# not left hanging and not reported as a success.
out=$("$@" 2>&1)
rc=$?
printf '%s\n' "$out"
echo "expect_abort: exit status $rc"
[ "$rc" -ne 0 ] || { echo "expect_abort: FAILED: the job succeeded"; exit 1; }
printf '%s\n' "$out" | grep -q 'mpi_fault: submitted' ||
  { echo "expect_abort: FAILED: it failed before submitting"; exit 1; }
if printf '%s\n' "$out" | grep -q 'mpi_fault: survived'; then
  echo "expect_abort: FAILED: rank 0 went on"; exit 1
fi
echo "expect_abort: the job was aborted, as docs/mpi.md says"
