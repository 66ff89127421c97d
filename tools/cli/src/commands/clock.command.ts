import type { Command } from 'commander';
import pc from 'picocolors';
import { advanceClock } from '../ops/clock-advance.js';
import { isoOf } from '../ops/clock-time.js';
import { cliConfig } from '../ops/config.js';
import { connectOperator } from '../ops/nats.js';
import { startProgress, type Progress } from '../ui/progress.js';

export function clockCommand(program: Command): void {
  const clock = program.command('clock').description('test clocks');
  clock
    .command('advance')
    .description('advance a test clock through the API and wait until it is ready, showing the subscriptions closed')
    .argument('<id>', 'clock_...')
    .argument('<time>', 'unix seconds, an ISO date (2026-02-01T00:00:00Z), or relative to the frozen time: +35d, +1mo, +36h')
    .option('--timeout <minutes>', 'give up waiting after this long', '60')
    .action(async (id: string, time: string, o: { timeout: string }) => {
      const cfg = cliConfig();
      // Without NATS the status alone is shown (the API answers either way).
      const nc = await connectOperator(cfg).catch(() => undefined);
      let bar: Progress | undefined;
      try {
        const last = await advanceClock(cfg, nc, id, time, {
          timeoutMs: Number(o.timeout) * 60_000,
          onStart: (from, to) => console.error(`advancing ${id} from ${isoOf(from)} to ${isoOf(to)}`),
          onUpdate: (u) => {
            bar ??= startProgress('subscriptions closed', { total: u.dueAtStart, unit: 'subscriptions' });
            const detail = `reached ${isoOf(u.reached)}${u.counted ? ` | ${u.total.toLocaleString('en-US')} on the clock` : ''}`;
            bar.update(u.dueAtStart - u.due, { total: u.dueAtStart, detail });
          },
        });
        if (last.status === 'ready') {
          bar?.succeed(`${id} is ready at ${isoOf(last.target)} (${last.dueAtStart.toLocaleString('en-US')} subscriptions closed)`);
        } else {
          bar?.fail(`${id}: ${last.status}${last.failure ? ` (${last.failure})` : ''}`);
          process.exitCode = 1;
        }
      } finally {
        await nc?.close().catch(() => undefined);
      }
    });
}
