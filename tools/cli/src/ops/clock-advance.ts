import type { NatsConnection } from '@nats-io/transport-node';
import { CLOCK_PROGRESS_OP, type ClockProgressReply } from '@meterflow/contracts';
import { RpcClient } from '@meterflow/messaging';
import type { CliConfig } from './config.js';
import { parseAdvanceTime } from './clock-time.js';

interface StripeTestClock {
  id: string;
  status: 'ready' | 'advancing' | 'internal_failure';
  frozen_time: number;
}

export interface ClockUpdate {
  status: ClockProgressReply['status'];
  reached: number;
  target: number;
  /** Subscriptions on the clock that had close work due when the advance started. */
  dueAtStart: number;
  /** ... and how many of them still have (0 when done). */
  due: number;
  total: number;
  /** Whether the subscription counts are known (rating answered over NATS). */
  counted: boolean;
  failure: string | null;
}

/** The public API, as the SDK calls it (form-encoded, secret key). */
async function api<T>(cfg: CliConfig, method: 'GET' | 'POST', path: string, form?: Record<string, string>): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${cfg.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${cfg.apiKey}`, ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
  } catch (e) {
    throw new Error(
      `the API does not answer at ${cfg.apiUrl} (${(e as Error).message}): is Meterflow running (./mf start)? Set MF_API_URL otherwise`,
    );
  }
  const body = (await res.json().catch(() => ({}))) as T & { error?: { message?: string } };
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${body.error?.message ?? ''}`.trim());
  return body;
}

export interface AdvanceOptions {
  pollMs?: number;
  timeoutMs?: number;
  onStart?: (from: number, to: number) => void;
  onUpdate?: (u: ClockUpdate) => void;
}

/**
 * `POST /v1/test_helpers/test_clocks/:id/advance`, then wait for `ready`: the clock's status from
 * the API, and (when NATS answers) rating's `test_clocks.progress` for the subscriptions still due.
 */
export async function advanceClock(
  cfg: CliConfig,
  nc: NatsConnection | undefined,
  id: string,
  time: string,
  opts: AdvanceOptions = {},
): Promise<ClockUpdate> {
  const path = `/v1/test_helpers/test_clocks/${encodeURIComponent(id)}`;
  const before = await api<StripeTestClock>(cfg, 'GET', path);
  const to = parseAdvanceTime(time, before.frozen_time);
  const rpc = nc ? new RpcClient(nc, cfg.names, 10_000) : undefined;
  await api<StripeTestClock>(cfg, 'POST', `${path}/advance`, { frozen_time: String(to) });
  opts.onStart?.(before.frozen_time, to);
  let dueAtStart: number | undefined;
  const deadline = Date.now() + (opts.timeoutMs ?? 60 * 60_000);
  for (;;) {
    let u: ClockUpdate;
    const p = rpc ? await rpc.request<ClockProgressReply>('rating', CLOCK_PROGRESS_OP, { clock: id }).catch(() => undefined) : undefined;
    if (p) {
      dueAtStart ??= p.subscriptions.due;
      dueAtStart = Math.max(dueAtStart, p.subscriptions.due);
      u = {
        status: p.status,
        reached: p.reached,
        target: p.target ?? to,
        dueAtStart,
        due: p.status === 'ready' ? 0 : p.subscriptions.due,
        total: p.subscriptions.total,
        counted: true,
        failure: p.failure,
      };
    } else {
      const c = await api<StripeTestClock>(cfg, 'GET', path);
      u = { status: c.status, reached: c.frozen_time, target: to, dueAtStart: 0, due: 0, total: 0, counted: false, failure: null };
    }
    opts.onUpdate?.(u);
    if (u.status !== 'advancing') return u;
    if (Date.now() > deadline)
      throw new Error(`the clock is still advancing after ${Math.round((opts.timeoutMs ?? 3_600_000) / 60_000)} minutes`);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}
