import type { Command } from 'commander';
import ora from 'ora';
import pc from 'picocolors';
import { cliConfig } from '../ops/config.js';
import { runDoctor } from '../ops/doctor.js';
import type { Check } from '../ops/doctor-rules.js';

const MARK = { ok: pc.green('✔'), warn: pc.yellow('!'), fail: pc.red('✖'), skip: pc.dim('-') } as const;

export function formatCheck(c: Check): string {
  const head = `${MARK[c.status]} ${c.name.padEnd(13)} ${c.status === 'skip' ? pc.dim(c.detail) : c.detail}`;
  return c.fix ? `${head}\n  ${' '.repeat(13)} ${pc.bold('fix:')} ${c.fix}` : head;
}

export function doctorCommand(program: Command): void {
  program
    .command('doctor')
    .description(
      'check Postgres, migrations, NATS, JetStream streams, consumer lag, outbox relays and dead letters; print the fix for each problem',
    )
    .option('--lag-threshold <n>', 'messages waiting for one consumer before it is reported', '1000')
    .option('--json', 'print the checks as JSON')
    .action(async (o: { lagThreshold: string; json?: boolean }) => {
      const cfg = cliConfig();
      const spinner = o.json || !process.stderr.isTTY ? undefined : ora({ text: 'postgres', stream: process.stderr }).start();
      const checks = await runDoctor(cfg, {
        lagThreshold: Number(o.lagThreshold),
        onCheck: (c) => {
          if (o.json) return;
          spinner?.stop();
          console.log(formatCheck(c));
          spinner?.start('checking');
        },
      });
      spinner?.stop();
      const failed = checks.filter((c) => c.status === 'fail').length;
      const warned = checks.filter((c) => c.status === 'warn').length;
      if (o.json) console.log(JSON.stringify(checks, null, 2));
      else
        console.log(
          failed
            ? pc.red(`\n${failed} failed, ${warned} to look at`)
            : warned
              ? pc.yellow(`\nhealthy, ${warned} to look at`)
              : pc.green('\nall good'),
        );
      if (failed) process.exitCode = 1;
    });
}
