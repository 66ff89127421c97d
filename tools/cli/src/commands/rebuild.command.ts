import type { Command } from 'commander';
import pc from 'picocolors';
import type { ProgressUpdate } from '@meterflow/contracts';
import { cliConfig } from '../ops/config.js';
import { isRebuildable, rebuildService, REBUILDABLE } from '../ops/rebuild.js';
import { startProgress, type Progress } from '../ui/progress.js';

export function rebuildCommand(program: Command): void {
  program
    .command('rebuild')
    .description(`drop a service's read models and replay its event store (${REBUILDABLE.join(', ')})`)
    .argument('<service>', REBUILDABLE.join(' | '))
    .action(async (service: string) => {
      if (!isRebuildable(service)) program.error(`rebuild: unknown service "${service}" (one of ${REBUILDABLE.join(', ')})`);
      const cfg = cliConfig();
      // One bar per phase (replay, project, indexes...): a new phase ends the previous bar.
      let current: { phase: string; bar: Progress } | undefined;
      const onProgress = (p: ProgressUpdate) => {
        if (current?.phase !== p.phase) {
          current?.bar.succeed();
          current = { phase: p.phase, bar: startProgress(`${service} ${p.phase}`, { total: p.total, unit: p.unit }) };
        }
        current.bar.update(p.done, { total: p.total });
      };
      const r = await rebuildService(cfg, service, onProgress);
      if (r.code === 0) {
        current?.bar.succeed();
        for (const line of r.output) console.log(line);
        return;
      }
      current?.bar.fail();
      for (const line of r.output) console.log(line);
      console.error(pc.red(r.stderr.trim() || `rebuild exited with ${r.code}`));
      process.exitCode = 1;
    });
}
