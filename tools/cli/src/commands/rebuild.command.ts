import type { Command } from 'commander';
import pc from 'picocolors';
import { cliConfig } from '../ops/config.js';
import { isRebuildable, rebuildService, REBUILDABLE } from '../ops/rebuild.js';
import { startPhasedProgress } from '../ui/progress.js';

export function rebuildCommand(program: Command): void {
  program
    .command('rebuild')
    .description(`drop a service's read models and replay its event store (${REBUILDABLE.join(', ')})`)
    .argument('<service>', REBUILDABLE.join(' | '))
    .action(async (service: string) => {
      if (!isRebuildable(service)) program.error(`rebuild: unknown service "${service}" (one of ${REBUILDABLE.join(', ')})`);
      const cfg = cliConfig();
      // One bar per phase (replay, project, indexes...): a new phase ends the previous bar.
      const progress = startPhasedProgress(service);
      const r = await rebuildService(cfg, service, progress.listener);
      if (r.code === 0) {
        progress.succeed();
        for (const line of r.output) console.log(line);
        return;
      }
      progress.fail();
      for (const line of r.output) console.log(line);
      console.error(pc.red(r.stderr.trim() || `rebuild exited with ${r.code}`));
      process.exitCode = 1;
    });
}
