import { pino, type DestinationStream, type Logger } from 'pino';
import { activeTraceIds } from './tracing.js';

export type { Logger };

/** Structured JSON logs, one logger per process, `service` on every line, and the active trace's `trace_id` / `span_id`. */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  const options = { level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime, mixin: activeTraceIds };
  return destination ? pino(options, destination) : pino(options);
}
