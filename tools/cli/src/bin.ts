// `meterflow <command>` (`./mf <command>` at the root): the operators' CLI, a thin shell over ops/.
import { Command } from 'commander';
import pc from 'picocolors';
import { clockCommand } from './commands/clock.command.js';
import { deadLettersCommand } from './commands/dead-letters.command.js';
import { doctorCommand } from './commands/doctor.command.js';
import { eventsCommand } from './commands/events.command.js';
import { rebuildCommand } from './commands/rebuild.command.js';

const program = new Command('meterflow')
  .description(
    'Meterflow operator commands. Reads DATABASE_URL, NATS_URL, NATS_USER/NATS_PASSWORD, MF_NAMESPACE as the services do,\n' +
      'and MF_API_URL (default http://127.0.0.1:3000) with MF_API_KEY for the API.',
  )
  .showHelpAfterError();
rebuildCommand(program);
clockCommand(program);
deadLettersCommand(program);
eventsCommand(program);
doctorCommand(program);

try {
  await program.parseAsync();
} catch (e) {
  console.error(pc.red(`meterflow: ${(e as Error).message}`));
  process.exitCode = 1;
}
