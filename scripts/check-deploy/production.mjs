// Checks of the production overlay (deploy/k8s/overlays/production), run by scripts/check-deploy.mjs
// on its `kubectl kustomize` output: the wiring the overlay promises, not only valid objects.
// Over 300 lines: one check per promise of the overlay (issue 11), each reading the same rendered
// objects; split further they would only pass the same context around.
import { parse } from 'yaml';
import { codeMetrics, defaultMetricNames, metricProblems } from './metrics.mjs';
import { allowed, pod, podsOf } from './network.mjs';

/** What the production overlay must provide for autoscaling (issue 11). */
const HPAS = { gateway: { min: 2, max: 10 }, 'meter-ingestion': { min: 2, max: 8 } };
/** Postgres connections of one replica with the default PG_POOL_MAX=10: the pool, MikroORM's, the relay's LISTEN. */
const PG_CONNECTIONS_PER_REPLICA = 10 + 5 + 1;
const INGRESS_NS = 'ingress-nginx';
const MONITORING_NS = 'monitoring';

const byKind = (objs, kind) => objs.filter((o) => o.kind === kind);
const named = (objs, kind, name) => objs.find((o) => o.kind === kind && o.metadata?.name === name);
const podSpec = (o) => o.spec?.template?.spec ?? {};
const envOf = (c) => Object.fromEntries((c?.env ?? []).map((e) => [e.name, e]));
const containersOf = (o) => [...(podSpec(o).initContainers ?? []), ...(podSpec(o).containers ?? [])];

/**
 * @param {object} ctx { objs, dir, read, root, services, ports, namespace, check }
 */
export function checkProduction({ objs, dir, read, root, services, ports, namespace, check }) {
  const kust = parse(read(`${dir}/kustomization.yaml`));
  const deployments = Object.fromEntries(services.map((s) => [s, named(objs, 'Deployment', s)]));

  check(`${dir}: HorizontalPodAutoscalers for ${Object.keys(HPAS).join(' and ')} own their Deployments' replica counts`, () => {
    const problems = [];
    const hpas = byKind(objs, 'HorizontalPodAutoscaler');
    for (const [s, want] of Object.entries(HPAS)) {
      const hpa = hpas.find((h) => h.spec?.scaleTargetRef?.name === s);
      if (!hpa) {
        problems.push(`no HPA targets ${s}`);
        continue;
      }
      const ref = hpa.spec.scaleTargetRef;
      if (ref.kind !== 'Deployment' || ref.apiVersion !== 'apps/v1' || !deployments[s])
        problems.push(`${s}: HPA targets ${ref.apiVersion} ${ref.kind}`);
      if (hpa.spec.minReplicas !== want.min || hpa.spec.maxReplicas !== want.max)
        problems.push(`${s}: HPA ${hpa.spec.minReplicas}-${hpa.spec.maxReplicas}, want ${want.min}-${want.max}`);
      if (!(hpa.spec.metrics ?? []).some((m) => m.type === 'Resource' && m.resource?.name === 'cpu'))
        problems.push(`${s}: HPA has no CPU target`);
      if (deployments[s]?.spec?.replicas !== undefined)
        problems.push(`${s}: Deployment sets replicas (${deployments[s].spec.replicas}) the HPA owns`);
      if ((kust.replicas ?? []).some((r) => r.name === s)) problems.push(`${s}: in kustomization replicas although the HPA owns it`);
    }
    for (const h of hpas)
      if (!deployments[h.spec?.scaleTargetRef?.name]) problems.push(`HPA ${h.metadata.name} targets no rendered Deployment`);
    return problems;
  });

  check(`${dir}: a PodDisruptionBudget keeps all but one pod of every service and of NATS`, () => {
    const problems = [];
    const pdbs = byKind(objs, 'PodDisruptionBudget');
    const workloads = [...services.map((s) => deployments[s]), named(objs, 'StatefulSet', 'nats')];
    for (const w of workloads) {
      if (!w) continue;
      const labels = w.spec?.template?.metadata?.labels ?? {};
      const mine = pdbs.filter((p) => {
        const ml = p.spec?.selector?.matchLabels ?? {};
        return Object.keys(ml).length && Object.entries(ml).every(([k, v]) => labels[k] === v);
      });
      if (mine.length !== 1) {
        problems.push(`${w.kind}/${w.metadata.name}: ${mine.length} PDBs select its pods`);
        continue;
      }
      const { maxUnavailable, minAvailable } = mine[0].spec;
      const replicas = w.spec.replicas ?? HPAS[w.metadata.name]?.min ?? 1;
      if (replicas < 2) problems.push(`${w.metadata.name}: ${replicas} replica(s): a PDB cannot keep it up`);
      if (maxUnavailable !== undefined ? maxUnavailable !== 1 : !(minAvailable >= 1 && minAvailable < replicas))
        problems.push(`${w.metadata.name}: PDB allows ${maxUnavailable ?? `minAvailable ${minAvailable}`}, want maxUnavailable 1`);
    }
    return problems;
  });

  check(
    `${dir}: NetworkPolicies: default deny; from outside only the gateway (via ${INGRESS_NS}); only Meterflow's services reach NATS and Postgres`,
    () => {
      const problems = [];
      const policies = byKind(objs, 'NetworkPolicy');
      const pods = podsOf(objs, namespace);
      const cluster = byKind(objs, 'Cluster')[0];
      const pg =
        cluster && pod(`Cluster/${cluster.metadata.name}`, namespace, { 'cnpg.io/cluster': cluster.metadata.name }, { postgresql: 5432 });
      const nats = pods.find((p) => p.name === 'StatefulSet/nats');
      const svcPods = services.map((s) => pods.find((p) => p.name === `Deployment/${s}`)).filter(Boolean);
      const migrate = pods.find((p) => p.name.startsWith('Job/'));
      const ingress = pod('ingress-controller', INGRESS_NS, { 'app.kubernetes.io/name': 'ingress-nginx' });
      const monitoring = pod('prometheus', MONITORING_NS, { 'app.kubernetes.io/name': 'prometheus' });
      const stranger = pod('some-app', 'default', { app: 'some-app' });
      const neighbour = pod('other-pod-in-namespace', namespace, { app: 'debug' });
      if (!nats) problems.push('no NATS StatefulSet to check');
      if (!pg) problems.push('no Postgres Cluster to check');
      const can = (from, to, port) => allowed(policies, from, to, port);
      const expect = (ok, from, to, port, why) => {
        if (to && can(from, to, port) !== ok) problems.push(`${from.name} ${ok ? 'cannot' : 'can'} reach ${to.name}:${port} (${why})`);
      };
      for (const to of [...svcPods, nats, pg].filter(Boolean))
        for (const port of new Set([...Object.values(to.ports), 3000, 4222, 5432])) expect(false, stranger, to, port, 'default deny');
      const gw = svcPods.find((p) => p.name === 'Deployment/gateway');
      expect(true, ingress, gw, ports.gateway, 'the API');
      for (const p of svcPods) {
        if (p !== gw) expect(false, ingress, p, ports[p.name.split('/')[1]], 'only the gateway is exposed');
        expect(true, monitoring, p, ports[p.name.split('/')[1]], 'metrics');
        expect(true, p, nats, 4222, 'services use NATS');
        expect(true, p, pg, 5432, 'services use Postgres');
      }
      expect(true, migrate ?? stranger, pg, 5432, 'the migration Job');
      for (const from of [ingress, monitoring, stranger, neighbour]) {
        expect(false, from, nats, 4222, 'only services reach NATS');
        expect(false, from, pg, 5432, 'only services reach Postgres');
      }
      expect(false, neighbour, gw, ports.gateway, 'default deny inside the namespace');
      expect(true, nats, nats, 6222, 'NATS cluster routes');
      return problems;
    },
  );

  check(`${dir}: the Ingress routes only API paths to the gateway, over TLS`, () => {
    const problems = [];
    const ings = byKind(objs, 'Ingress');
    if (ings.length !== 1) return [`${ings.length} Ingresses`];
    const ing = ings[0];
    if (!ing.spec?.tls?.length) problems.push('no TLS');
    const internal = ['/metrics', '/healthz', '/readyz'];
    for (const rule of ing.spec?.rules ?? []) {
      if (!ing.spec.tls?.some((t) => t.hosts?.includes(rule.host))) problems.push(`host ${rule.host} not in tls`);
      for (const p of rule.http?.paths ?? []) {
        const b = p.backend?.service;
        if (b?.name !== 'gateway' || !(b.port?.name === 'http' || b.port?.number === ports.gateway))
          problems.push(`${p.path} -> ${b?.name}:${b?.port?.name ?? b?.port?.number}`);
        const covers = (x) =>
          p.pathType === 'Exact' ? x === p.path : x === p.path || x.startsWith(p.path.endsWith('/') ? p.path : `${p.path}/`);
        for (const x of internal) if (covers(x)) problems.push(`${p.path} (${p.pathType}) exposes ${x}`);
      }
    }
    for (const need of ['/v1', '/v2'])
      if (!(ing.spec?.rules ?? []).some((r) => r.http?.paths?.some((p) => p.path === need))) problems.push(`no path ${need}`);
    if (ing.spec?.defaultBackend) problems.push('a defaultBackend routes everything');
    return problems;
  });

  check(`${dir}: a ServiceMonitor scrapes /metrics of every service`, () => {
    const problems = [];
    const sms = byKind(objs, 'ServiceMonitor');
    for (const s of services) {
      const svc = named(objs, 'Service', s);
      const labels = svc?.metadata?.labels ?? {};
      const sm = sms.find(
        (m) =>
          Object.entries(m.spec?.selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v) &&
          (m.spec?.namespaceSelector?.any ||
            (m.spec?.namespaceSelector?.matchNames ?? [m.metadata.namespace]).includes(svc?.metadata?.namespace)),
      );
      if (!sm) {
        problems.push(`${s}: no ServiceMonitor selects its Service`);
        continue;
      }
      const ep = sm.spec.endpoints?.find((e) => svc.spec.ports.some((p) => p.name === e.port));
      if (!ep) problems.push(`${s}: no endpoint on a port of its Service`);
      else if ((ep.path ?? '/metrics') !== '/metrics') problems.push(`${s}: scrapes ${ep.path}`);
    }
    return problems;
  });

  check(
    `${dir}: the Prometheus rules and Grafana panels parse as PromQL and use only metrics and labels the code defines and records`,
    () => {
      const problems = [];
      const exprs = [];
      const recorded = new Set();
      for (const rule of byKind(objs, 'PrometheusRule'))
        for (const g of rule.spec?.groups ?? [])
          for (const r of g.rules ?? []) {
            if (r.record) recorded.add(r.record);
            exprs.push({ where: `rule ${r.record ?? r.alert}`, expr: String(r.expr) });
          }
      const alerts = exprs.filter((e) => e.where.startsWith('rule ') && !recorded.has(e.where.slice(5)));
      if (!alerts.length) problems.push('no alerting rules rendered');
      const dash = byKind(objs, 'ConfigMap').find((c) => c.metadata?.labels?.grafana_dashboard === '1');
      if (!dash) problems.push('no ConfigMap labelled grafana_dashboard=1');
      else
        for (const [file, text] of Object.entries(dash.data ?? {})) {
          const panels = JSON.parse(text).panels ?? [];
          const flat = panels.flatMap((p) => [p, ...(p.panels ?? [])]);
          const targets = flat.flatMap((p) =>
            (p.targets ?? []).map((t) => ({ where: `${file} "${p.title}"`, expr: String(t.expr ?? '') })),
          );
          if (!targets.length) problems.push(`${file}: no panel queries`);
          exprs.push(...targets);
        }
      const topics = {
        'consumer lag': /meterflow_consumer_pending_messages/,
        'dead letters': /meterflow_dead_letters_total/,
        'finalization failures': /meterflow_invoices_finalized_total\{[^}]*outcome="failed"/,
        'webhook failures': /meterflow_webhook_deliveries_total/,
        'API errors': /meterflow_gateway_request_duration_seconds_count\{[^}]*status=~"5/,
      };
      for (const [topic, re] of Object.entries(topics))
        if (
          !alerts.some(
            (a) =>
              re.test(a.expr) ||
              [...recorded].some((r) => a.expr.includes(r) && exprs.some((e) => e.where === `rule ${r}` && re.test(e.expr))),
          )
        )
          problems.push(`no alert on ${topic}`);
      problems.push(...metricProblems(exprs, { code: codeMetrics(root), defaults: defaultMetricNames(root), recorded }));
      return problems;
    },
  );

  check(
    `${dir}: migrations before the services (Job in an earlier Argo CD wave, named for the release; each Deployment waits with its own image's \`migrate.js --check --wait\`)`,
    () => {
      const problems = [];
      const jobs = byKind(objs, 'Job');
      if (jobs.length !== 1) return [`${jobs.length} Jobs`];
      const job = jobs[0];
      const tags = new Set((kust.images ?? []).map((i) => i.newTag));
      if (tags.size !== 1) problems.push(`images have ${tags.size} different tags: one release at a time`);
      const slug = String([...tags][0] ?? '')
        .replace(/[^a-z0-9]+/gi, '-')
        .toLowerCase();
      if (!job.metadata.name.endsWith(`-${slug}`))
        problems.push(`Job ${job.metadata.name} is not named for release ${[...tags][0]} (…-${slug})`);
      const wave = (o) => Number(o.metadata?.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0);
      for (const s of services)
        if (deployments[s] && !(wave(job) < wave(deployments[s]))) problems.push(`Job wave ${wave(job)} is not before ${s}'s`);
      for (const dep of ['Cluster', 'StatefulSet'].flatMap((k) => byKind(objs, k)))
        if (!(wave(dep) < wave(job)))
          problems.push(`${dep.kind}/${dep.metadata.name} (wave ${wave(dep)}) is not synced before the Job (wave ${wave(job)})`);
      for (const s of services) {
        const d = deployments[s];
        if (!d) continue;
        const main = podSpec(d).containers?.[0];
        const wait = (podSpec(d).initContainers ?? []).find((c) =>
          /dist\/migrate\.js\b.*--check\b.*--wait=\d+/.test([...(c.command ?? []), ...(c.args ?? [])].join(' ')),
        );
        if (!wait) {
          problems.push(`${s}: no init container running dist/migrate.js --check --wait=<seconds>`);
          continue;
        }
        if (wait.image !== main?.image) problems.push(`${s}: waits with image ${wait.image}, runs ${main?.image}`);
        if (JSON.stringify(envOf(wait).DATABASE_URL?.valueFrom) !== JSON.stringify(envOf(main).DATABASE_URL?.valueFrom))
          problems.push(`${s}: the wait checks another database than the service uses`);
        const step = containersOf(job).find(
          (c) => c.image === main?.image && [...(c.command ?? []), ...(c.args ?? [])].join(' ').includes('dist/migrate.js'),
        );
        if (!step) problems.push(`${s}: the Job does not migrate with ${main?.image}`);
        else if (JSON.stringify(envOf(step).DATABASE_URL?.valueFrom) !== JSON.stringify(envOf(main).DATABASE_URL?.valueFrom))
          problems.push(`${s}: the Job migrates another database than the service uses`);
      }
      return problems;
    },
  );

  check(
    `${dir}: NATS: a 3-node JetStream cluster on volumes, NATS_URL lists its members, MF_STREAM_REPLICAS fits; each service its own user and Secret, known to the server`,
    () => {
      const problems = [];
      const sts = named(objs, 'StatefulSet', 'nats');
      if (!sts) return ['no StatefulSet nats'];
      if (sts.spec.replicas !== 3) problems.push(`${sts.spec.replicas} replicas`);
      const nc = podSpec(sts).containers?.[0];
      if (!/^nats:2\.(9|1\d)\./.test(nc?.image ?? '')) problems.push(`image ${nc?.image} (Meterflow needs nats-server 2.9 or later)`);
      const dataVol = sts.spec.volumeClaimTemplates?.[0]?.metadata?.name;
      const cfgMap = named(
        objs,
        'ConfigMap',
        podSpec(sts).volumes?.find((v) => v.configMap?.name?.startsWith('nats-config'))?.configMap?.name,
      );
      const conf = cfgMap?.data?.['nats.conf'] ?? '';
      if (!conf) problems.push('no nats.conf in a nats-config ConfigMap');
      const storeDir = /store_dir:\s*"?([^\s"]+)/.exec(conf)?.[1];
      const mount = nc?.volumeMounts?.find((m) => m.name === dataVol);
      if (!dataVol || !mount || !storeDir?.startsWith(mount.mountPath))
        problems.push(`JetStream store_dir ${storeDir} is not on the volume claim (${mount?.mountPath})`);
      const routes = [...(/routes:\s*\[([^\]]*)\]/.exec(conf)?.[1] ?? '').matchAll(/nats:\/\/([^:\s]+):6222/g)].map((m) => m[1]);
      const config = byKind(objs, 'ConfigMap').find((c) => c.metadata.name.startsWith('meterflow-config'))?.data ?? {};
      const urls = (config.NATS_URL ?? '').split(',').map((u) => new URL(u).hostname);
      if (routes.length !== 3) problems.push(`${routes.length} cluster routes`);
      if (JSON.stringify([...urls].sort()) !== JSON.stringify([...routes].sort()))
        problems.push(`NATS_URL (${urls.join(', ')}) is not the cluster's members (${routes.join(', ')})`);
      const replicas = Number(config.MF_STREAM_REPLICAS ?? 1);
      if (replicas !== 3) problems.push(`MF_STREAM_REPLICAS=${config.MF_STREAM_REPLICAS ?? '(unset)'}, want 3 on a 3-node cluster`);
      if (!/include\s+\S*auth\.conf/.test(conf)) problems.push('nats.conf includes no auth.conf (users and permissions)');
      // Every variable the users file (ConfigMap mounted beside nats.conf) reads must be in the
      // server's environment, from a Secret: nats-server refuses to start on an undefined one
      // (quoted strings such as "$JS.API.>" are subjects, not variables).
      const authMap = named(
        objs,
        'ConfigMap',
        podSpec(sts).volumes?.find((v) => v.configMap && !v.configMap.name.startsWith('nats-config'))?.configMap?.name,
      );
      const authConf = Object.values(authMap?.data ?? {}).join('\n');
      if (!authConf) problems.push('no ConfigMap with the NATS users mounted');
      for (const v of new Set([...authConf.replace(/"(?:[^"\\]|\\.)*"/g, '""').matchAll(/\$([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1])))
        if (!envOf(nc)[v]?.valueFrom?.secretKeyRef)
          problems.push(`the users file reads $${v}, which the NATS server does not get from a Secret`);
      const serverEnv = envOf(nc);
      for (const s of services) {
        const c = podSpec(deployments[s] ?? {}).containers?.[0];
        const env = envOf(c);
        if (env.NATS_USER?.value !== s)
          problems.push(`${s}: NATS_USER ${env.NATS_USER?.value ?? '(from the ConfigMap)'}, want its own user ${s}`);
        const ref = env.NATS_PASSWORD?.valueFrom?.secretKeyRef;
        if (ref?.name !== `meterflow-nats-${s}`)
          problems.push(`${s}: NATS_PASSWORD from Secret ${ref?.name}, want its own meterflow-nats-${s}`);
        const server = serverEnv[`NATS_PASSWORD_${s.toUpperCase().replace(/-/g, '_')}`]?.valueFrom?.secretKeyRef;
        if (!ref || server?.name !== ref.name || server?.key !== ref.key)
          problems.push(`${s}: the NATS server does not read the same password (${server?.name}/${server?.key})`);
      }
      return problems;
    },
  );

  check(
    `${dir}: Postgres: a CloudNativePG Cluster (3 instances, Postgres 16, max_connections for every replica's pools) whose app Secret every service reads`,
    () => {
      const problems = [];
      const clusters = byKind(objs, 'Cluster');
      if (clusters.length !== 1) return [`${clusters.length} Clusters`];
      const c = clusters[0];
      if ((c.spec.instances ?? 1) < 3) problems.push(`${c.spec.instances} instances`);
      if (!/:16(\.|$)/.test(c.spec.imageName ?? ''))
        problems.push(`image ${c.spec.imageName} (Postgres 16 is what Meterflow is tested on)`);
      const replicas = services.reduce((n, s) => n + (HPAS[s]?.max ?? deployments[s]?.spec?.replicas ?? 1), 0);
      const need = replicas * PG_CONNECTIONS_PER_REPLICA + services.length + 10;
      const max = Number(c.spec.postgresql?.parameters?.max_connections ?? 100);
      if (max < need)
        problems.push(
          `max_connections ${max} < ${need} (${replicas} replicas at most x ${PG_CONNECTIONS_PER_REPLICA}, migrations, operator)`,
        );
      for (const o of [...services.map((s) => deployments[s]), ...byKind(objs, 'Job')].filter(Boolean))
        for (const ct of containersOf(o)) {
          const ref = envOf(ct).DATABASE_URL?.valueFrom?.secretKeyRef;
          if (ref && (ref.name !== `${c.metadata.name}-app` || ref.key !== 'uri'))
            problems.push(`${o.metadata.name}/${ct.name}: DATABASE_URL from ${ref.name}/${ref.key}`);
          if (!ref && ct.name !== 'done') problems.push(`${o.metadata.name}/${ct.name}: no DATABASE_URL from a Secret`);
        }
      return problems;
    },
  );

  check(`${dir}: every Secret it reads is named in docs/operations.md, every ConfigMap it reads is rendered`, () => {
    const problems = [];
    const doc = read('docs/operations.md');
    const cluster = byKind(objs, 'Cluster')[0]?.metadata?.name;
    const secrets = new Set();
    const configMaps = new Set();
    for (const o of objs) {
      const spec = o.kind === 'Cluster' ? {} : podSpec(o);
      for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
        for (const e of c.env ?? []) {
          if (e.valueFrom?.secretKeyRef) secrets.add(e.valueFrom.secretKeyRef.name);
          if (e.valueFrom?.configMapKeyRef) configMaps.add(e.valueFrom.configMapKeyRef.name);
        }
        for (const e of c.envFrom ?? []) if (e.configMapRef) configMaps.add(e.configMapRef.name);
      }
      for (const v of spec.volumes ?? []) {
        if (v.configMap) configMaps.add(v.configMap.name);
        if (v.secret) secrets.add(v.secret.secretName);
      }
      for (const t of o.kind === 'Ingress' ? (o.spec.tls ?? []) : []) secrets.add(t.secretName);
    }
    for (const s of secrets) if (s !== `${cluster}-app` && !doc.includes(s)) problems.push(`Secret ${s} not in docs/operations.md`);
    for (const m of configMaps) if (!named(objs, 'ConfigMap', m)) problems.push(`ConfigMap ${m} is read but not rendered`);
    return problems;
  });
}
