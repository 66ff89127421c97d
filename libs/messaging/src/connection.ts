import { connect, type NatsConnection } from '@nats-io/transport-node';

export interface NatsSettings {
  url: string;
  user?: string;
  password?: string;
  name: string;
}

/** One connection per process; reconnects forever (the broker is infrastructure, not optional). */
export async function connectNats(s: NatsSettings): Promise<NatsConnection> {
  return connect({
    servers: s.url.split(','),
    name: s.name,
    ...(s.user ? { user: s.user, pass: s.password ?? '' } : {}),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
  });
}
