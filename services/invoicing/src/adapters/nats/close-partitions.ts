import pg from 'pg';
import { INVOICING_OPS, type ClockAdvancePartitionReply, type ClockAdvancePartitionRequest } from '@meterflow/contracts';
import type { RpcClient } from '@meterflow/messaging';
import { whileHolding } from '@meterflow/service-kit';
import type { ClosePartitions } from '../../application/ports.js';

/** Signs of life of a part's call (as rating asks of clock participants). */
const HEARTBEAT_MS = 1_000;

/**
 * A clock's parts asked for through invoicing's own queue group; each held under a Postgres
 * advisory lock. The locks live on connections of their own (not the service's pool): a replica
 * holding many parts at once must still have connections left to finalize them.
 */
export class NatsClosePartitions implements ClosePartitions {
  private readonly locks: pg.Pool;

  constructor(
    private readonly rpc: RpcClient,
    pool: pg.Pool,
    readonly partitions: number,
    private readonly timeoutMs = 120_000,
  ) {
    this.locks = new pg.Pool({ ...pool.options, max: 64, idleTimeoutMillis: 10_000, allowExitOnIdle: true });
  }

  advancePartition(req: ClockAdvancePartitionRequest): Promise<ClockAdvancePartitionReply> {
    return this.rpc.request<ClockAdvancePartitionReply>('invoicing', INVOICING_OPS.advancePartition, req, {
      timeoutMs: this.timeoutMs,
      heartbeatMs: HEARTBEAT_MS,
    });
  }

  exclusive<T>(key: string, fn: () => Promise<T>) {
    return whileHolding(this.locks, key, fn);
  }
}
