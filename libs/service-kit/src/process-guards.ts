import type { Logger } from '@meterflow/observability';

let installed = false;

/**
 * A stray rejection or error event (a dependency dropping a socket between two awaits) must
 * not end a service: every path that matters retries on its own (pool, NATS reconnect,
 * consumers, relay, periodic tasks). Log it loudly and keep serving.
 */
export function installProcessGuards(logger: Pick<Logger, 'error'>): void {
  if (installed) return;
  installed = true;
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection (process kept running)'));
  process.on('uncaughtException', (err) => logger.error({ err }, 'uncaught exception (process kept running)'));
}
