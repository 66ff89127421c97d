#!/usr/bin/env node
// Offline checks of Meterflow's packaging and deployment files: Dockerfile, .dockerignore,
// docker-compose.yml and the kustomize base/overlays under deploy/k8s.
//
//   pnpm check:deploy            (node scripts/check-deploy.mjs)
//
// One line per check: `ok`, `FAIL` or `skip`. Exits 1 if any check fails. A check skipped
// because a tool is missing (kubectl, docker-compose) does not fail the run unless
// CHECK_DEPLOY_STRICT=1 is set.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { checkProduction } from './check-deploy/production.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const strict = process.env.CHECK_DEPLOY_STRICT === '1';

/** HTTP port of each service (gateway serves the Stripe API; the others health/metrics only). */
const PORTS = { gateway: 3000, 'meter-ingestion': 3101, rating: 3102, invoicing: 3103, 'credit-ledger': 3104 };
const SECRET_NAME = 'meterflow-secrets';
/** NATS users of deploy/k8s/base/nats-auth.conf (libs/contracts/src/nats-permissions.ts), one password each. */
const NATS_USERS = ['gateway', 'meter-ingestion', 'rating', 'invoicing', 'credit-ledger', 'producer', 'consumer'];
const SECRET_KEYS = ['database-url', 'api-keys', ...NATS_USERS.map((u) => `nats-password-${u}`)];
const NAMESPACE = 'meterflow';
const OVERLAYS = ['local', 'production'];
/** Models of the custom resources the overlays use, by API group. */
const CRD_MODELS = {
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
  'postgresql.cnpg.io': '@kubernetes-models/cloudnative-pg',
};

const modelModules = new Map();
let failures = 0;
let skips = 0;

function report(status, name, detail) {
  const tag = { ok: 'ok  ', fail: 'FAIL', skip: 'skip' }[status];
  console.log(`${tag} ${name}${detail ? ` - ${detail}` : ''}`);
  if (status === 'fail') failures++;
  if (status === 'skip') skips++;
}

/** Run `fn`; it returns a list of problems (or throws). Empty list = ok. */
function check(name, fn) {
  let problems;
  try {
    problems = fn() ?? [];
  } catch (err) {
    problems = [err instanceof Error ? err.message : String(err)];
  }
  if (problems.length === 0) report('ok', name);
  else report('fail', name, problems.join('; '));
  return problems.length === 0;
}

async function checkAsync(name, fn) {
  let problems;
  try {
    problems = (await fn()) ?? [];
  } catch (err) {
    problems = [err instanceof Error ? err.message : String(err)];
  }
  if (problems.length === 0) report('ok', name);
  else report('fail', name, problems.join('; '));
}

const read = (p) => readFileSync(join(root, p), 'utf8');
const hasCommand = (cmd, args = ['version']) => {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return !r.error && r.status === 0;
};

// ---- services -----------------------------------------------------------------------------
const services = readdirSync(join(root, 'services'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(root, 'services', d.name, 'package.json')))
  .map((d) => d.name)
  .sort();

check(`services found in services/ (${services.join(', ')})`, () => {
  const problems = [];
  if (services.length === 0) problems.push('no services/*/package.json');
  for (const s of services) {
    const pkg = JSON.parse(read(`services/${s}/package.json`));
    if (pkg.name !== `@meterflow/${s}`) problems.push(`services/${s}: package name ${pkg.name} != @meterflow/${s}`);
    if (!pkg.scripts?.build) problems.push(`${s}: no build script`);
    if (!(s in PORTS)) problems.push(`${s}: no known HTTP port (update PORTS in scripts/check-deploy.mjs)`);
  }
  return problems;
});

// ---- Dockerfile ---------------------------------------------------------------------------
check('Dockerfile: multi-stage build on node:24-bookworm-slim with pnpm deploy per SERVICE', () => {
  const src = read('Dockerfile');
  const text = src.replace(/\\\n/g, ' ');
  const problems = [];
  const stages = parseDockerStages(text);
  const names = stages.map((s) => s.name);
  const argImage = /^ARG NODE_IMAGE=(\S+)/m.exec(text)?.[1];
  for (const st of stages) {
    const image = st.from === '${NODE_IMAGE}' ? argImage : st.from;
    if (!names.includes(st.from) && image !== 'node:24-bookworm-slim') problems.push(`stage ${st.name} FROM ${image}`);
  }
  for (const need of ['build', 'deploy', 'migrate', 'runtime']) if (!names.includes(need)) problems.push(`no stage "${need}"`);
  if (stages.at(-1)?.name !== 'runtime') problems.push('the last (default) stage must be "runtime"');
  if (!/corepack enable/.test(text)) problems.push('corepack is not enabled');
  if (!/pnpm (install|fetch) --frozen-lockfile/.test(text)) problems.push('no pnpm install --frozen-lockfile');
  if (!/pnpm (-r )?(run )?build/.test(text)) problems.push('no pnpm build');
  if (!/deploy --prod/.test(text)) problems.push('no pnpm deploy --prod');
  if (!/ARG SERVICE/.test(text)) problems.push('no ARG SERVICE');
  for (const name of ['runtime', 'migrate']) {
    const st = stages.find((s) => s.name === name);
    if (!st) continue;
    const user = /^USER\s+(\S+)/m.exec(st.body)?.[1];
    if (!user || /^(0|root)(:|$)/.test(user)) problems.push(`${name}: no non-root USER`);
    else if (!/^\d+(:\d+)?$/.test(user)) problems.push(`${name}: USER ${user} is not numeric (Kubernetes runAsNonRoot cannot verify it)`);
    // Runtime layers take only the `pnpm deploy` output: never the workspace, never its node_modules
    // (which holds the root devDependency `node`, a whole Node binary).
    for (const m of st.body.matchAll(/^COPY\s+(.*)$/gm)) {
      const from = /--from=(\S+)/.exec(m[1])?.[1];
      if (from && !m[1].includes('/out/')) problems.push(`${name}: COPY --from=${from} of something other than /out`);
      if (/node_modules/.test(m[1])) problems.push(`${name}: copies node_modules directly`);
    }
  }
  const runtime = stages.find((s) => s.name === 'runtime');
  if (runtime) {
    if (!/^HEALTHCHECK .*healthz|^HEALTHCHECK .*healthcheck/m.test(runtime.body)) problems.push('runtime: no HEALTHCHECK');
    if (!/^CMD \["node",\s*"dist\/main\.js"\]/m.test(runtime.body)) problems.push('runtime: CMD is not ["node","dist/main.js"]');
  }
  return problems;
});

check('Dockerfile: files it copies from deploy/ exist', () =>
  [...read('Dockerfile').matchAll(/^COPY\s+(deploy\/\S+)/gm)]
    .map((m) => m[1])
    .filter((p) => !existsSync(join(root, p)))
    .map((p) => `missing ${p}`),
);

check('.dockerignore excludes node_modules, dist, .git, .tmp', () => {
  const lines = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim());
  return ['node_modules', 'dist', '.git', '.tmp']
    .filter((p) => !lines.some((l) => l === p || l === `**/${p}` || l === `/${p}`))
    .map((p) => `${p} not ignored`);
});

check("service definitions' default httpPort matches the deployment ports", () => {
  const problems = [];
  for (const s of services) {
    const dir = join(root, 'services', s, 'src');
    const defs = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.definition.ts')) : [];
    if (!defs.length) continue; // not written yet: nothing to compare
    const port = /httpPort:\s*(\d+)/.exec(readFileSync(join(dir, defs[0]), 'utf8'))?.[1];
    if (port && Number(port) !== PORTS[s]) problems.push(`${s}: definition says ${port}, deployment uses ${PORTS[s]}`);
  }
  return problems;
});

check('deploy/docker/healthcheck.mjs knows every service port', () => {
  const src = read('deploy/docker/healthcheck.mjs');
  return services
    .filter((s) => !new RegExp(`['"]?${s}['"]?:\\s*${PORTS[s]}\\b`).test(src))
    .map((s) => `${s}: ${PORTS[s]} not in DEFAULT_PORTS`);
});

// ---- docker-compose.yml -------------------------------------------------------------------
const composeFile = join(root, 'docker-compose.yml');
const composeCli = hasCommand('docker-compose', ['version'])
  ? ['docker-compose']
  : hasCommand('docker', ['compose', 'version'])
    ? ['docker', 'compose']
    : null;
if (composeCli) {
  check(`docker-compose.yml: \`${composeCli.join(' ')} config -q\``, () => {
    const r = spawnSync(composeCli[0], [...composeCli.slice(1), '-f', composeFile, 'config', '-q'], { cwd: root, encoding: 'utf8' });
    if (r.error) return [r.error.message];
    return r.status === 0 ? [] : [(r.stderr || r.stdout).trim().split('\n').join(' | ')];
  });
} else {
  report(
    'skip',
    'docker-compose.yml: `docker-compose config -q`',
    'neither docker-compose nor docker compose is installed; checking structure only below',
  );
}

let compose;
check('docker-compose.yml: structure (nats, postgres, migrate, every service built from the Dockerfile)', () => {
  compose = parse(read('docker-compose.yml'), { merge: true });
  const problems = [];
  const svcs = compose?.services;
  if (!svcs || typeof svcs !== 'object') return ['no services'];
  for (const [name, def] of Object.entries(svcs)) {
    if (!def.image && !def.build) problems.push(`${name}: neither image nor build`);
    for (const [dep, cond] of Object.entries(dependsOn(def))) {
      if (!(dep in svcs)) problems.push(`${name}: depends_on unknown service ${dep}`);
      if (!['service_started', 'service_healthy', 'service_completed_successfully'].includes(cond))
        problems.push(`${name}: depends_on ${dep} with condition ${cond}`);
      if (cond === 'service_healthy' && !svcs[dep]?.healthcheck)
        problems.push(`${name}: waits for ${dep} healthy, but ${dep} has no healthcheck`);
    }
  }
  const nats = svcs.nats;
  if (!nats) problems.push('no nats service');
  else {
    const cmd = [].concat(nats.command ?? []).join(' ');
    const conf = (nats.volumes ?? []).map((v) => String(v).split(':')[0]).find((p) => p.endsWith('.conf'));
    const confText = conf && existsSync(join(root, conf)) ? readFileSync(join(root, conf), 'utf8') : '';
    if (!/(^|\s)(-js|--jetstream)\b/.test(cmd) && !/jetstream/.test(confText)) problems.push('nats: JetStream not enabled');
    if (!/--user|--pass/.test(cmd) && !/authorization|accounts/.test(confText)) problems.push('nats: no user/password');
    if (conf && !confText) problems.push(`nats: config ${conf} missing`);
    if (!nats.healthcheck) problems.push('nats: no healthcheck');
  }
  const pg = svcs.postgres;
  if (!pg) problems.push('no postgres service');
  else {
    if (!/^postgres:16/.test(pg.image ?? '')) problems.push(`postgres: image ${pg.image}`);
    if (!pg.healthcheck) problems.push('postgres: no healthcheck');
    if (!(pg.volumes ?? []).some((v) => String(v).includes('/var/lib/postgresql/data'))) problems.push('postgres: no data volume');
  }
  const migrate = svcs.migrate;
  if (!migrate) problems.push('no migrate service');
  else {
    if (dependsOn(migrate).postgres !== 'service_healthy') problems.push('migrate: does not wait for postgres healthy');
    if (migrate.build?.target !== 'migrate') problems.push('migrate: not built with target migrate');
    if (['always', 'unless-stopped'].includes(migrate.restart)) problems.push('migrate: restarts (it is one-shot)');
  }
  return problems;
});

for (const s of services) {
  check(`docker-compose.yml: service ${s}`, () => {
    const def = compose?.services?.[s];
    if (!def) return ['missing'];
    const problems = [];
    if (def.build?.args?.SERVICE !== s) problems.push(`build.args.SERVICE is ${def.build?.args?.SERVICE}`);
    const ctx = def.build?.context ?? '.';
    if (!existsSync(join(root, ctx, def.build?.dockerfile ?? 'Dockerfile'))) problems.push('Dockerfile not found from build.context');
    const deps = dependsOn(def);
    if (deps.migrate !== 'service_completed_successfully') problems.push('does not wait for migrate to complete successfully');
    if (deps.nats !== 'service_healthy') problems.push('does not wait for nats healthy');
    if (deps.postgres !== 'service_healthy') problems.push('does not wait for postgres healthy');
    if (!def.healthcheck) problems.push('no healthcheck');
    const env = envMap(def.environment);
    for (const k of ['DATABASE_URL', 'NATS_URL', 'NATS_USER', 'NATS_PASSWORD']) if (!env[k]) problems.push(`no ${k}`);
    if (String(env.HTTP_PORT) !== String(PORTS[s])) problems.push(`HTTP_PORT ${env.HTTP_PORT} != ${PORTS[s]}`);
    if (s === 'gateway') {
      if (!env.MF_API_KEYS) problems.push('no MF_API_KEYS');
      if (!(def.ports ?? []).some((p) => /(^|:)3000:3000$/.test(String(p)) || p?.published == 3000))
        problems.push('port 3000 not published');
    }
    if (env.NATS_USER !== s) problems.push(`NATS_USER is ${env.NATS_USER}, not its own user ${s} (deploy/compose/nats.conf)`);
    if (s === 'invoicing' && !env.INVOICE_FINALIZATION_GRACE_SECONDS) problems.push('no INVOICE_FINALIZATION_GRACE_SECONDS');
    return problems;
  });
}

// ---- Kubernetes ---------------------------------------------------------------------------
const k8sDir = 'deploy/k8s';
const kubectl = hasCommand('kubectl', ['version', '--client']);
const rendered = {};

if (!kubectl) {
  report(
    'skip',
    'kubectl kustomize',
    'kubectl is not installed: validating the base resource files as written (no generators, patches or overlays)',
  );
}
for (const target of ['base', ...OVERLAYS.map((o) => `overlays/${o}`)]) {
  const dir = `${k8sDir}/${target}`;
  if (kubectl) {
    check(`kubectl kustomize ${dir}`, () => {
      const out = execFileSync('kubectl', ['kustomize', join(root, dir)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      rendered[target] = parseDocs(out, dir);
      return rendered[target].length ? [] : ['rendered nothing'];
    });
  } else if (target === 'base') {
    check(`read ${dir} resources`, () => {
      const kust = parse(read(`${dir}/kustomization.yaml`));
      rendered[target] = (kust.resources ?? []).flatMap((f) => parseDocs(read(`${dir}/${f}`), `${dir}/${f}`));
      return [];
    });
  }
}

for (const [target, objs] of Object.entries(rendered)) {
  await checkAsync(`${k8sDir}/${target}: ${objs.length} objects valid against the Kubernetes schemas (kubernetes-models)`, async () => {
    const problems = [];
    for (const obj of objs) problems.push(...(await validateK8s(obj)));
    return problems;
  });
}

const base = rendered.base ?? [];
const find = (objs, kind, name) => objs.find((o) => o.kind === kind && o.metadata?.name === name);

if (base.length) {
  check(`${k8sDir}/base: namespace ${NAMESPACE}, shared ConfigMap, no Secret objects`, () => {
    const problems = [];
    if (!find(base, 'Namespace', NAMESPACE)) problems.push(`no Namespace ${NAMESPACE}`);
    for (const o of base) {
      if (o.kind !== 'Namespace' && kubectl && o.metadata?.namespace !== NAMESPACE)
        problems.push(`${o.kind}/${o.metadata?.name} not in namespace ${NAMESPACE}`);
      if (o.kind === 'Secret') problems.push(`Secret/${o.metadata?.name} is rendered (secrets must be created out of band)`);
    }
    if (kubectl && !base.some((o) => o.kind === 'ConfigMap' && o.metadata?.name?.startsWith('meterflow-config')))
      problems.push('no meterflow-config ConfigMap');
    if (kubectl && !base.some((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'meterflow-nats-auth' && o.data?.['auth.conf']))
      problems.push('no meterflow-nats-auth ConfigMap with auth.conf');
    return problems;
  });

  for (const s of services) {
    check(`${k8sDir}/base: Deployment + Service ${s} (probes, resources, scrape annotations, secret refs)`, () => {
      const dep = find(base, 'Deployment', s);
      const svc = find(base, 'Service', s);
      const problems = [];
      if (!dep) return ['no Deployment'];
      if (!svc) problems.push('no Service');
      const pod = dep.spec?.template;
      const c = pod?.spec?.containers?.find((x) => x.name === s) ?? pod?.spec?.containers?.[0];
      if (!c) return [...problems, 'no container'];
      if (!String(c.image ?? '').startsWith(`meterflow/${s}`)) problems.push(`image ${c.image}`);
      const httpPort = c.ports?.find((p) => p.name === 'http');
      if (httpPort?.containerPort !== PORTS[s]) problems.push(`containerPort ${httpPort?.containerPort} != ${PORTS[s]}`);
      const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e]));
      if (env.HTTP_PORT?.value !== String(PORTS[s])) problems.push(`HTTP_PORT ${env.HTTP_PORT?.value}`);
      if (probePath(c.livenessProbe) !== '/healthz') problems.push('liveness probe is not GET /healthz');
      if (probePath(c.readinessProbe) !== '/readyz') problems.push('readiness probe is not GET /readyz');
      for (const k of ['requests', 'limits'])
        for (const r of ['cpu', 'memory']) if (!c.resources?.[k]?.[r]) problems.push(`no resources.${k}.${r}`);
      const ann = pod?.metadata?.annotations ?? {};
      if (ann['prometheus.io/scrape'] !== 'true') problems.push('no prometheus.io/scrape annotation');
      if (ann['prometheus.io/port'] !== String(PORTS[s])) problems.push('prometheus.io/port annotation');
      if (ann['prometheus.io/path'] !== '/metrics') problems.push('prometheus.io/path annotation');
      problems.push(
        ...secretRefProblems(c, s === 'gateway' ? ['DATABASE_URL', 'NATS_PASSWORD', 'MF_API_KEYS'] : ['DATABASE_URL', 'NATS_PASSWORD']),
      );
      problems.push(...configRefProblems(c, base));
      // Least privilege on NATS: the service's own user and password.
      if (env.NATS_USER?.value !== s) problems.push(`NATS_USER is ${env.NATS_USER?.value}, not ${s}`);
      if (env.NATS_PASSWORD?.valueFrom?.secretKeyRef?.key !== `nats-password-${s}`)
        problems.push(`NATS_PASSWORD is not key nats-password-${s}`);
      if (pod?.spec?.securityContext?.runAsNonRoot !== true) problems.push('pod does not set runAsNonRoot');
      if (svc) {
        const sel = svc.spec?.selector ?? {};
        const labels = pod?.metadata?.labels ?? {};
        if (!Object.keys(sel).length || Object.entries(sel).some(([k, v]) => labels[k] !== v))
          problems.push('Service selector does not match the pod labels');
        if (!svc.spec?.ports?.some((p) => p.targetPort === 'http' || p.targetPort === PORTS[s]))
          problems.push('Service does not target the http port');
      }
      const dsel = dep.spec?.selector?.matchLabels ?? {};
      if (Object.entries(dsel).some(([k, v]) => pod?.metadata?.labels?.[k] !== v))
        problems.push('Deployment selector does not match its pod labels');
      return problems;
    });
  }

  check(`${k8sDir}/base: migrate Job runs \`node dist/migrate.js\` of every service`, () => {
    const jobs = base.filter((o) => o.kind === 'Job');
    if (jobs.length !== 1) return [`${jobs.length} Jobs`];
    const spec = jobs[0].spec?.template?.spec ?? {};
    const problems = [];
    if (!['Never', 'OnFailure'].includes(spec.restartPolicy)) problems.push(`restartPolicy ${spec.restartPolicy}`);
    const steps = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
    for (const s of services) {
      const step = steps.find(
        (c) =>
          String(c.image ?? '').startsWith(`meterflow/${s}`) &&
          (c.command ?? [])
            .concat(c.args ?? [])
            .join(' ')
            .includes('dist/migrate.js'),
      );
      if (!step) {
        problems.push(`no migrate step for ${s}`);
        continue;
      }
      problems.push(...secretRefProblems(step, ['DATABASE_URL']).map((p) => `${step.name}: ${p}`));
      problems.push(...configRefProblems(step, base).map((p) => `${step.name}: ${p}`));
    }
    return problems;
  });
}

await checkAsync(
  `${k8sDir}/base/secret.example.yaml: a valid example Secret ${SECRET_NAME} with ${SECRET_KEYS.join(', ')}, not in any kustomization`,
  async () => {
    const problems = [];
    const file = `${k8sDir}/base/secret.example.yaml`;
    if (!existsSync(join(root, file))) return ['missing'];
    const [secret] = parseDocs(read(file), file);
    if (secret?.kind !== 'Secret' || secret.metadata?.name !== SECRET_NAME) problems.push('not a Secret named meterflow-secrets');
    else problems.push(...(await validateK8s(secret)));
    const keys = Object.keys({ ...(secret?.data ?? {}), ...(secret?.stringData ?? {}) });
    for (const k of SECRET_KEYS) if (!keys.includes(k)) problems.push(`no key ${k}`);
    for (const k of kustomizationFiles(join(root, k8sDir))) {
      if (/secret\.example\.yaml/.test(readFileSync(k, 'utf8').replace(/#.*$/gm, '')))
        problems.push(`listed in ${k.slice(root.length + 1)}`);
    }
    return problems;
  },
);

for (const o of OVERLAYS) {
  const objs = rendered[`overlays/${o}`];
  if (!objs) continue;
  check(`${k8sDir}/overlays/${o}: every service's Deployment and migrate step present, images and replicas set`, () => {
    const problems = [];
    const kust = parse(read(`${k8sDir}/overlays/${o}/kustomization.yaml`));
    const tags = Object.fromEntries((kust.images ?? []).map((i) => [i.name, i]));
    const replicas = Object.fromEntries((kust.replicas ?? []).map((r) => [r.name, r.count]));
    for (const s of services) {
      const dep = find(objs, 'Deployment', s);
      if (!dep) {
        problems.push(`no Deployment ${s}`);
        continue;
      }
      const want = tags[`meterflow/${s}`];
      if (!want) problems.push(`images: no entry for meterflow/${s}`);
      else {
        const image = `${want.newName ?? `meterflow/${s}`}:${want.newTag}`;
        const got = dep.spec.template.spec.containers[0].image;
        if (got !== image) problems.push(`${s} image ${got} != ${image}`);
      }
      const autoscaled = objs.some((h) => h.kind === 'HorizontalPodAutoscaler' && h.spec?.scaleTargetRef?.name === s);
      if (autoscaled) continue; // its HPA owns the count (checked with the overlay's own checks)
      if (!(s in replicas)) problems.push(`replicas: no entry for ${s}`);
      else if (dep.spec.replicas !== replicas[s]) problems.push(`${s} replicas ${dep.spec.replicas} != ${replicas[s]}`);
    }
    return problems;
  });
}

if (rendered['overlays/production']) {
  checkProduction({
    objs: rendered['overlays/production'],
    dir: `${k8sDir}/overlays/production`,
    read,
    root,
    services,
    ports: PORTS,
    namespace: NAMESPACE,
    check,
  });
}

// ---- docs ---------------------------------------------------------------------------------
check('docs/operations.md and docs/architecture.md mention every service', () => {
  const problems = [];
  for (const f of ['docs/operations.md', 'docs/architecture.md']) {
    if (!existsSync(join(root, f))) {
      problems.push(`${f} missing`);
      continue;
    }
    const text = read(f);
    for (const s of services) if (!text.includes(s)) problems.push(`${f}: ${s} not mentioned`);
  }
  return problems;
});

console.log(`\n${failures === 0 ? 'deploy checks passed' : `${failures} deploy check(s) failed`}${skips ? ` (${skips} skipped)` : ''}`);
process.exit(failures > 0 || (strict && skips > 0) ? 1 : 0);

// ---- helpers ------------------------------------------------------------------------------
function parseDockerStages(text) {
  const stages = [];
  const lines = text.split('\n');
  let cur = null;
  for (const line of lines) {
    const m = /^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (m) {
      cur = { from: m[1], name: m[2] ?? String(stages.length), body: '' };
      stages.push(cur);
    } else if (cur) cur.body += `${line}\n`;
  }
  return stages;
}

function dependsOn(def) {
  const d = def?.depends_on;
  if (!d) return {};
  if (Array.isArray(d)) return Object.fromEntries(d.map((n) => [n, 'service_started']));
  return Object.fromEntries(Object.entries(d).map(([n, v]) => [n, v?.condition ?? 'service_started']));
}

function envMap(env) {
  if (!env) return {};
  if (Array.isArray(env)) return Object.fromEntries(env.map((e) => [String(e).split('=')[0], String(e).split('=').slice(1).join('=')]));
  return env;
}

function parseDocs(text, where) {
  const docs = parseAllDocuments(text);
  const out = [];
  for (const d of docs) {
    if (d.errors.length) throw new Error(`${where}: ${d.errors[0].message}`);
    const v = d.toJS();
    if (v != null) out.push(v);
  }
  return out;
}

async function validateK8s(obj) {
  const id = `${obj?.kind}/${obj?.metadata?.name}`;
  if (!obj?.apiVersion || !obj?.kind) return [`${id}: no apiVersion/kind`];
  const group = obj.apiVersion.includes('/') ? obj.apiVersion.split('/')[0] : '';
  const path = `${CRD_MODELS[group] ?? 'kubernetes-models'}/${obj.apiVersion}`;
  let mod = modelModules.get(path);
  if (!mod) {
    try {
      mod = await import(path);
    } catch {
      return [`${id}: unknown apiVersion ${obj.apiVersion}`];
    }
    modelModules.set(path, mod);
  }
  const Model = mod[obj.kind];
  if (typeof Model !== 'function') return [`${id}: unknown kind ${obj.kind} in ${obj.apiVersion}`];
  try {
    new Model(obj).validate();
    return [];
  } catch (err) {
    return [`${id}: ${err instanceof Error ? err.message.split('\n').slice(0, 3).join(' ') : String(err)}`];
  }
}

function probePath(probe) {
  return probe?.httpGet?.path;
}

function secretRefProblems(container, required) {
  const problems = [];
  const env = container.env ?? [];
  for (const e of env) {
    const ref = e.valueFrom?.secretKeyRef;
    if (!ref) continue;
    if (ref.name !== SECRET_NAME) problems.push(`${e.name} refers to Secret ${ref.name}`);
    if (!SECRET_KEYS.includes(ref.key)) problems.push(`${e.name} refers to unknown key ${ref.key}`);
  }
  for (const name of required) {
    const e = env.find((x) => x.name === name);
    if (!e?.valueFrom?.secretKeyRef) problems.push(`${name} is not a secretKeyRef`);
    if (e?.value) problems.push(`${name} has a literal value`);
  }
  for (const e of container.envFrom ?? []) if (e.secretRef) problems.push('envFrom secretRef (use secretKeyRef per key)');
  return problems;
}

function configRefProblems(container, objs) {
  if (!kubectl) return [];
  const refs = (container.envFrom ?? []).map((e) => e.configMapRef?.name).filter(Boolean);
  if (!refs.length) return ['no envFrom configMapRef'];
  return refs.filter((n) => !objs.some((o) => o.kind === 'ConfigMap' && o.metadata?.name === n)).map((n) => `ConfigMap ${n} not rendered`);
}

function kustomizationFiles(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...kustomizationFiles(p));
    else if (/^kustomization\.ya?ml$/.test(e.name)) out.push(p);
  }
  return out;
}
