import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs, one logger per process, `service` on every line. */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime });
}
