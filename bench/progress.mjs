// Progress of a benchmark's long phases, with the operator CLI's display (startProgress): a bar
// with ETA on a terminal, a plain line every few seconds in a log, always on stderr so stdout keeps
// the results. BENCH_PROGRESS=0 turns it off. Only the display: what is timed does not change.
const OFF = { update() {}, succeed() {}, fail() {} };

let load;

/** `startProgress` of @meterflow/cli, or a no-op when it is off or the CLI is not built. */
export async function benchProgress(label, opts = {}) {
  if (process.env.BENCH_PROGRESS === '0') return OFF;
  load ??= import('@meterflow/cli').catch(() => {
    process.stderr.write('(no progress display: @meterflow/cli is not built; pnpm build)\n');
    return undefined;
  });
  const cli = await load;
  return cli ? cli.startProgress(label, opts) : OFF;
}
