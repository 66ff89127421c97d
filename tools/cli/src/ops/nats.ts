import { connect, type NatsConnection } from '@nats-io/transport-node';
import { natsInboxPrefix } from '@meterflow/contracts';
import type { CliConfig } from './config.js';

/** A short-lived operator connection: fails fast instead of waiting for a server (unlike the services'). */
export function connectOperator(cfg: CliConfig, opts: { timeoutMs?: number; reconnect?: boolean } = {}): Promise<NatsConnection> {
  return connect({
    servers: cfg.natsUrl.split(','),
    name: 'meterflow-cli',
    timeout: opts.timeoutMs ?? 3_000,
    maxReconnectAttempts: opts.reconnect ? -1 : 0,
    // The user's own inbox prefix: the only one its NATS permissions let it read replies on.
    ...(cfg.natsUser ? { user: cfg.natsUser, pass: cfg.natsPassword ?? '', inboxPrefix: natsInboxPrefix(cfg.natsUser) } : {}),
  });
}
