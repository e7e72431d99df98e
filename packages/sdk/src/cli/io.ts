// CLI: the process surface a command sees (output streams, environment, cwd, stop signal).
// Consumes nothing; produces the `CliIo` type that main.ts fills from `process` and tests may fake.

/** What a command may touch besides the cluster. */
export interface CliIo {
  /** Write to standard output (results, `--output json` documents). */
  readonly stdout: (text: string) => void;
  /** Write to standard error (error lines, progress). */
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Aborted on SIGINT/SIGTERM: long-running commands (`watch`, `cluster up`) stop and exit 0. */
  readonly signal: AbortSignal;
}
