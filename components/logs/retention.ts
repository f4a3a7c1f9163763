/**
 * Retention of the log files on the node. The files outlive their pods on purpose (a crashed pod's last
 * lines are still shipped), so something must delete them: the `retention` container of the log agent's
 * DaemonSet, on each node, for that node's files. Nothing else deletes them.
 *
 * A file is deleted only when all of these hold:
 * - it is a platform log file (`<logRoot>/<service>/*.log`, or a rotated `*.log.*`), nothing else;
 * - it has not been modified for `retentionDays` days;
 * - the agent wrote its checkpoint (the `file_storage` directory) after the file's last change, so the
 *   agent saw the file in its final state;
 * - that checkpoint is fresh (written in the last `aliveMinutes`): an agent that is down or stuck does
 *   not advance its checkpoint, and then nothing is deleted at all.
 *
 * The checkpoint's byte offsets live in a bbolt database that a shell cannot read, so the rule is by
 * time rather than by offset: a file is kept unless the agent has been live and checkpointing for
 * `retentionDays` days since the file last grew. An agent more than `retentionDays` days behind
 * (which its lag alert reports long before) is the only case this rule does not cover.
 */
export interface RetentionInput {
  logRoot: string;
  checkpointDir: string;
  retentionDays: number;
  /** The checkpoint must have been written this recently for any deletion. Default 15. */
  aliveMinutes?: number;
  /** Seconds between passes. Default 3600. */
  intervalSeconds?: number;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The cleanup as a POSIX shell script (busybox `sh` and `find` in the DaemonSet; the tests run it with
 * the machine's `sh` and `find`). With `RETENTION_ONCE=1` in the environment it runs one pass and exits.
 */
export function retentionScript(input: RetentionInput): string {
  const root = input.logRoot.replace(/\/$/, "");
  return `set -eu
root=${quote(root)}
state=${quote(input.checkpointDir)}
pass() {
  # The newest file of the checkpoint directory, provided the agent wrote it in the last ${input.aliveMinutes ?? 15} minutes.
  checkpoint=$(find "$state" -maxdepth 1 -type f -mmin -${input.aliveMinutes ?? 15} 2>/dev/null | head -n 1)
  if [ -z "$checkpoint" ]; then
    echo "log-retention: no checkpoint written in $state in the last ${input.aliveMinutes ?? 15} minutes (agent down or stuck); deleting nothing"
    return 0
  fi
  for f in $(find "$state" -maxdepth 1 -type f); do [ "$f" -nt "$checkpoint" ] && checkpoint="$f"; done
  find "$root" -mindepth 2 -maxdepth 2 -type f \\( -name '*.log' -o -name '*.log.*' \\) \\
    -mtime +${input.retentionDays - 1} ! -newer "$checkpoint" | while IFS= read -r f; do
      rm -f -- "$f" && echo "log-retention: deleted $f (unmodified for ${input.retentionDays} days, shipped before checkpoint $checkpoint)"
    done
}
if [ "\${RETENTION_ONCE:-0}" = 1 ]; then pass; exit 0; fi
while true; do pass; sleep ${input.intervalSeconds ?? 3600}; done
`;
}
