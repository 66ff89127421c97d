import type { Command } from 'commander';
import ora from 'ora';
import pc from 'picocolors';
import { cliConfig } from '../ops/config.js';
import { isoOf } from '../ops/clock-time.js';
import { describeEvent, tailEvents, tailSubject } from '../ops/events-tail.js';
import { connectOperator } from '../ops/nats.js';

export function eventsCommand(program: Command): void {
  const ev = program.command('events').description('the Stripe events stream (MF_EVENTS)');
  ev.command('tail')
    .description('follow Stripe events as they are published (Ctrl-C stops)')
    .argument('[type]', 'an event type (invoice.paid) or a NATS wildcard (invoice.*); default: all')
    .option('--last <n>', 'start with the last N events in the stream', '0')
    .option('--json', 'one JSON event per line')
    .action(async (type: string | undefined, o: { last: string; json?: boolean }) => {
      const cfg = cliConfig();
      const nc = await connectOperator(cfg, { reconnect: true });
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      let count = 0;
      const waiting =
        o.json || !process.stderr.isTTY
          ? undefined
          : ora({ text: `waiting for events on ${tailSubject(cfg, type)}`, stream: process.stderr }).start();
      try {
        await tailEvents(cfg, nc, {
          ...(type ? { type } : {}),
          last: Number(o.last),
          signal: stop.signal,
          onEvent: (raw) => {
            count++;
            waiting?.stop();
            if (o.json) console.log(JSON.stringify(raw));
            else {
              const e = describeEvent(raw as Parameters<typeof describeEvent>[0]);
              console.log(`${pc.dim(isoOf(e.created))} ${pc.cyan(e.type.padEnd(44))} ${e.id}  ${e.objectId} ${pc.dim(e.summary)}`);
            }
            if (waiting) waiting.start(`${count} events; waiting for more`);
          },
        });
      } finally {
        waiting?.stop();
        await nc.close().catch(() => undefined);
      }
    });
}
