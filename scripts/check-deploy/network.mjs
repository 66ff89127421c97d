// A small evaluator of Kubernetes NetworkPolicy ingress rules over rendered manifests, so that
// scripts/check-deploy.mjs can assert who may reach whom (not just that policies exist).

const matchesSelector = (sel, labels) => {
  if (!sel) return false;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const v = labels[e.key];
    if (e.operator === 'In' && !(has && e.values.includes(v))) return false;
    if (e.operator === 'NotIn' && has && e.values.includes(v)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
};

/**
 * A pod: `{ name, namespace, labels, nsLabels, ports: {name: number} }`. Namespaces get
 * `kubernetes.io/metadata.name` as Kubernetes sets it.
 */
export function pod(name, namespace, labels = {}, ports = {}, nsLabels = {}) {
  return { name, namespace, labels, ports, nsLabels: { 'kubernetes.io/metadata.name': namespace, ...nsLabels } };
}

function peerMatches(peer, from, policyNs) {
  if (peer.ipBlock) return false; // no pod-level reasoning about CIDRs: treat as not matching
  const nsOk = peer.namespaceSelector ? matchesSelector(peer.namespaceSelector, from.nsLabels) : from.namespace === policyNs;
  const podOk = peer.podSelector ? matchesSelector(peer.podSelector, from.labels) : true;
  return nsOk && podOk;
}

function portMatches(rulePorts, target, port) {
  if (!rulePorts?.length) return true;
  return rulePorts.some((p) => {
    if (p.port === undefined) return true;
    const n = typeof p.port === 'number' ? p.port : target.ports[p.port];
    return n === port;
  });
}

/** May `from` open a TCP connection to `target` on `port`, under `policies`? */
export function allowed(policies, from, target, port) {
  const selecting = policies.filter(
    (p) =>
      (p.metadata?.namespace ?? target.namespace) === target.namespace &&
      (p.spec?.policyTypes ?? ['Ingress']).includes('Ingress') &&
      (Object.keys(p.spec?.podSelector ?? {}).length === 0 || matchesSelector(p.spec.podSelector, target.labels)),
  );
  if (selecting.length === 0) return true;
  return selecting.some((p) =>
    (p.spec.ingress ?? []).some(
      (rule) =>
        (!rule.from?.length || rule.from.some((peer) => peerMatches(peer, from, p.metadata?.namespace ?? target.namespace))) &&
        portMatches(rule.ports, target, port),
    ),
  );
}

/** The pods a rendered workload makes (Deployment, StatefulSet, Job): labels and named ports. */
export function podsOf(objs, namespace) {
  const out = [];
  for (const o of objs) {
    if (!['Deployment', 'StatefulSet', 'Job'].includes(o.kind)) continue;
    const t = o.spec?.template ?? {};
    const ports = {};
    for (const c of t.spec?.containers ?? []) for (const p of c.ports ?? []) if (p.name) ports[p.name] = p.containerPort;
    out.push(pod(`${o.kind}/${o.metadata.name}`, o.metadata.namespace ?? namespace, t.metadata?.labels ?? {}, ports));
  }
  return out;
}
