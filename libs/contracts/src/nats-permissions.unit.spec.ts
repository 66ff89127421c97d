import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { API_ROUTES } from './api-routes.js';
import {
  composeNatsConf,
  downstreamPermissions,
  kubernetesNatsAuthConf,
  meterflowNatsUsers,
  natsInboxPrefix,
  producerPermissions,
  servicePermissions,
} from './nats-permissions.js';
import { natsNames, SERVICES } from './subjects.js';

/**
 * The NATS configurations shipped in deploy/ are exactly what the permission tables render
 * (regenerate with `pnpm nats:conf`, MF_WRITE_NATS_CONF=1 on this spec), and the tables say
 * what docs/reliability.md promises.
 */
const root = new URL('../../../', import.meta.url);
const shipped = (path: string, text: string): string | undefined => {
  const file = new URL(path, root);
  if (process.env.MF_WRITE_NATS_CONF === '1') writeFileSync(file, text);
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
};

describe('NATS permissions', () => {
  const names = natsNames('');

  it('deploy/compose/nats.conf and deploy/k8s/base/nats-auth.conf are rendered from the tables', () => {
    expect(shipped('deploy/compose/nats.conf', composeNatsConf()), 'stale: run pnpm nats:conf').toBe(composeNatsConf());
    expect(shipped('deploy/k8s/base/nats-auth.conf', kubernetesNatsAuthConf()), 'stale: run pnpm nats:conf').toBe(kubernetesNatsAuthConf());
    expect(composeNatsConf()).toContain('password: $NATS_PASSWORD_GATEWAY');
  });

  it('producers publish to mf.ingest.> only', () => {
    expect(producerPermissions(names)).toEqual({ publish: ['mf.ingest.>'], subscribe: ['_INBOX_producer.>'], allowResponses: false });
  });

  it('downstream consumers read MF_EVENTS through their own durables only', () => {
    const p = downstreamPermissions(names, 'consumer', ['billing-app']);
    expect(p.subscribe).toEqual(['_INBOX_consumer.>']);
    expect(p.publish.filter((s) => !s.startsWith('$JS.'))).toEqual([]);
    expect(p.publish.every((s) => s === '$JS.API.INFO' || s.includes('.MF_EVENTS'))).toBe(true);
    expect(p.publish.filter((s) => s.includes('CONSUMER')).every((s) => s.includes('.MF_EVENTS.billing-app'))).toBe(true);
    expect(p.allowResponses).toBe(false);
  });

  it('each service serves its own ops and requests only the ops it names', () => {
    for (const svc of SERVICES) {
      const p = servicePermissions(names, svc);
      expect(p.subscribe).toEqual([names.rpcSubject(svc, '>'), `_INBOX_${svc}.>`, names.heartbeatSubjects]);
      expect(p.publish.some((s) => s.endsWith('>') && s.startsWith('mf.rpc'))).toBe(false);
      expect(p.publish.filter((s) => s.startsWith('mf.ingest'))).toEqual(svc === 'meter-ingestion' ? ['mf.ingest.>'] : []);
      for (const other of SERVICES.filter((o) => o !== svc)) {
        expect(p.publish).not.toContain(names.serviceSubjects(other));
        expect(p.publish.some((s) => s.includes(`.${names.serviceStream(other)}`))).toBe(false);
      }
    }
    // The gateway requests exactly the public routes, alone or batched (internal ops stay internal).
    const gw = servicePermissions(names, 'gateway').publish.filter((s) => s.startsWith('mf.rpc.'));
    expect(new Set(gw)).toEqual(
      new Set(API_ROUTES.flatMap((r) => [names.rpcSubject(r.service, r.op), names.rpcBatchSubject(r.service, r.op)])),
    );
    expect(names.rpcBatchSubject('meter-ingestion', 'meter_events.create')).toBe('mf.rpc.meter_ingestion.meter_events.create.batch');
    expect(gw.some((s) => /clock\.|credits\.apply|rate_period|subscription_invoices/.test(s))).toBe(false);
  });

  it('each user subscribes to its own inbox prefix only, never the shared _INBOX', () => {
    const users = meterflowNatsUsers(names, (u) => `pw-${u}`, { consumer: ['billing-app'], 'other-app': ['other'] });
    for (const u of users) {
      expect(u.permissions.subscribe.filter((s) => s.startsWith('_INBOX'))).toEqual([`_INBOX_${u.user}.>`]);
      expect(natsInboxPrefix(u.user)).toBe(`_INBOX_${u.user}`);
    }
    expect(natsInboxPrefix(undefined)).toBe('_INBOX');
    expect(() => natsInboxPrefix('a.b')).toThrow(/letters, digits/);
    expect(() => natsInboxPrefix('a>')).toThrow();
  });

  it('one user per service, a producer and a consumer; namespaces carry into every name', () => {
    const users = meterflowNatsUsers(natsNames('ns1'), (u) => `pw-${u}`);
    expect(users.map((u) => u.user)).toEqual([...SERVICES, 'producer', 'consumer']);
    for (const u of users)
      for (const s of [...u.permissions.publish, ...u.permissions.subscribe])
        expect(s.startsWith('ns1.') || s.startsWith('$JS.') || s === `${natsInboxPrefix(u.user)}.>`, `${u.user}: ${s}`).toBe(true);
    expect(users.find((u) => u.user === 'meter-ingestion')?.permissions.publish).toContain(
      '$JS.API.CONSUMER.MSG.NEXT.NS1_MF_INGEST.NS1_meter_ingestion_ingest',
    );
  });
});
