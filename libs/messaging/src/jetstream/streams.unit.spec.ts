import { describe, expect, it } from 'vitest';
import { natsNames } from '@meterflow/contracts';
import { streamConfigs, streamReplicasFromEnv } from './streams.js';

describe('stream replicas', () => {
  it('reads MF_STREAM_REPLICAS: 1 by default, an integer from 1 to 5, anything else refused', () => {
    expect(streamReplicasFromEnv({})).toBe(1);
    expect(streamReplicasFromEnv({ MF_STREAM_REPLICAS: '' })).toBe(1);
    expect(streamReplicasFromEnv({ MF_STREAM_REPLICAS: '3' })).toBe(3);
    for (const bad of ['0', '6', '2.5', 'three'])
      expect(() => streamReplicasFromEnv({ MF_STREAM_REPLICAS: bad })).toThrow(/MF_STREAM_REPLICAS/);
  });

  it('gives every stream the same replicas', () => {
    const cfgs = streamConfigs(natsNames(''), ['rating', 'invoicing'], { replicas: 3 });
    expect(cfgs.map((c) => c.name)).toEqual(['MF_INGEST', 'MF_EVENTS', 'MF_DEAD_LETTERS', 'MF_SVC_RATING', 'MF_SVC_INVOICING']);
    expect(new Set(cfgs.map((c) => c.num_replicas))).toEqual(new Set([3]));
  });
});
