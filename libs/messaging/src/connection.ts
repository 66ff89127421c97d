import { connect, createInbox, type NatsConnection } from '@nats-io/transport-node';
import { natsInboxPrefix } from '@meterflow/contracts';

export interface NatsSettings {
  url: string;
  user?: string;
  password?: string;
  name: string;
  /** Where connection changes are reported (disconnect, reconnect, server errors). */
  logger?: ConnectionLogger;
}

export interface ConnectionLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

interface LinkState {
  connected: boolean;
}

const links = new WeakMap<NatsConnection, LinkState>();

/**
 * One connection per process; reconnects forever (the broker is infrastructure, not optional),
 * waits for the first server instead of failing the boot, and logs every change. While it is
 * disconnected `natsConnected(nc)` is false: callers fail fast instead of buffering requests
 * for a server that is not there, and `/readyz` answers 503.
 */
export async function connectNats(s: NatsSettings): Promise<NatsConnection> {
  const nc = await connect({
    servers: s.url.split(','),
    name: s.name,
    // Replies come to the user's own inbox prefix, the only one its NATS permissions let it read.
    ...(s.user ? { user: s.user, pass: s.password ?? '', inboxPrefix: natsInboxPrefix(s.user) } : {}),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    reconnectJitter: 100,
    waitOnFirstConnect: true,
    // A silent server (host gone, no RST) is noticed within ~10 s instead of minutes.
    pingInterval: 5_000,
    maxPingOut: 2,
  });
  const state: LinkState = { connected: true };
  links.set(nc, state);
  void watch(nc, state, s.logger);
  return nc;
}

async function watch(nc: NatsConnection, state: LinkState, logger: ConnectionLogger | undefined): Promise<void> {
  for await (const st of nc.status()) {
    switch (st.type) {
      case 'disconnect':
        state.connected = false;
        logger?.warn({ server: st.server }, 'nats: disconnected; reconnecting');
        break;
      case 'staleConnection':
        state.connected = false;
        logger?.warn({}, 'nats: connection stale; reconnecting');
        break;
      case 'reconnect':
        state.connected = true;
        logger?.info({ server: st.server }, 'nats: reconnected');
        break;
      case 'error':
        logger?.warn({ err: st.error }, 'nats: server error');
        break;
      case 'close':
        state.connected = false;
        return;
      default:
        break;
    }
  }
}

/** False while the connection is down (reconnecting, draining or closed). */
export function natsConnected(nc: NatsConnection): boolean {
  if (nc.isClosed() || nc.isDraining()) return false;
  return links.get(nc)?.connected ?? true;
}

/**
 * A new inbox under the connection's `inboxPrefix` (the user's own, `natsInboxPrefix`), for
 * code that subscribes to replies itself rather than through `nc.request()` or JetStream (which
 * read the same option).
 */
export function connectionInbox(nc: NatsConnection): string {
  return createInbox((nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix);
}
