# The scratch server of a GCP drill job (drill.tf), run as `sh -c "<this>" scratch-server <args>`:
# the official PostgreSQL image's entrypoint with the sidecar's arguments, stopped again once the
# runner is done.
#
# Cloud Run's documentation does not say that a job's task ends when its first container exits
# while another keeps running (docs/drills.md, "In the cloud"), and a server never exits by itself:
# left alone it could hold every drill until the task timeout, recorded failed. So the server stops
# itself when
#   - the runner's done file appears ($VAULTRA_DRILL_DONE_FILE, on the in-memory volume both
#     containers mount: `vaultra drill` writes it as it exits, passed, failed or interrupted);
#   - $VAULTRA_DRILL_WAIT_SECONDS went by without it (a runner killed before it could write it);
#   - the platform sends SIGTERM (this shell is the container's PID 1, which ignores the signal
#     unless it traps it).
# SIGTERM to the server is a smart shutdown; the runner is gone, so no session holds it. A
# background job of a non-interactive shell ignores SIGINT, so a fast shutdown is not on offer
# while the entrypoint still runs. The script exits 0 whatever ended it: the runner's exit code is
# the task's outcome.

done_file=${VAULTRA_DRILL_DONE_FILE:?the runner done file is not set}
wait_seconds=${VAULTRA_DRILL_WAIT_SECONDS:?the longest wait for the runner is not set}

stopping=
trap 'stopping=1' TERM INT

docker-entrypoint.sh "$@" &
server=$!

waited=0
while [ -z "$stopping" ] && [ ! -e "$done_file" ] && [ "$waited" -lt "$wait_seconds" ] && kill -0 "$server" 2>/dev/null; do
  sleep 1
  waited=$((waited + 1))
done

if [ -e "$done_file" ]; then
  echo "vaultra: the runner is done ($(cat "$done_file" 2>/dev/null)); stopping the scratch server"
elif [ -n "$stopping" ]; then
  echo "vaultra: asked to stop; stopping the scratch server"
elif kill -0 "$server" 2>/dev/null; then
  echo "vaultra: no word from the runner in ${wait_seconds} s; stopping the scratch server"
fi
kill -TERM "$server" 2>/dev/null
# `wait` returns early when a trapped signal arrives: wait until the server is really gone.
while kill -0 "$server" 2>/dev/null; do wait "$server"; done
exit 0
