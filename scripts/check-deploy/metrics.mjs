// The metrics Meterflow's code defines, and the metric names a PromQL expression uses: so that
// every series a Prometheus rule or the Grafana dashboard relies on exists (scripts/check-deploy.mjs).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parser as promql } from '@prometheus-io/lezer-promql';

const SUFFIXES = { Histogram: ['_bucket', '_sum', '_count'], Summary: ['_sum', '_count'] };
/** Labels Prometheus (and prometheus-operator's scrape config) adds to every series. */
export const TARGET_LABELS = ['namespace', 'pod', 'service', 'job', 'instance', 'container', 'endpoint', 'le', 'quantile'];

function tsFiles(dir) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.name.endsWith('.ts') && !/\.spec\.ts$/.test(e.name)) out.push(p);
  }
  return out;
}

/**
 * Every `new Counter|Gauge|Histogram|Summary({ name: 'meterflow_...', labelNames: [...] })` in
 * libs/ and services/ (specs excluded): name -> { type, labels, variable, file, used }, where
 * `used` says whether the code ever records on the variable it is bound to (`.inc(`, `.set(`,
 * `.observe(`, `.labels(`, ...): a metric defined and never recorded is as good as missing.
 */
export function codeMetrics(root) {
  const files = [...tsFiles(join(root, 'libs')), ...tsFiles(join(root, 'services'))];
  const sources = new Map(files.map((f) => [f, readFileSync(f, 'utf8')]));
  const metrics = new Map();
  const re = /(?:const\s+(\w+)\s*=\s*)?new\s+(Counter|Gauge|Histogram|Summary)\s*\(\s*\{([\s\S]*?)\}\s*\)/g;
  for (const [file, src] of sources) {
    for (const m of src.matchAll(re)) {
      const name = /name:\s*'([a-zA-Z_:][\w:]*)'/.exec(m[3])?.[1];
      if (!name) continue;
      const labels = [...(/labelNames:\s*\[([^\]]*)\]/.exec(m[3])?.[1].matchAll(/'(\w+)'/g) ?? [])].map((x) => x[1]);
      metrics.set(name, { type: m[2], labels, variable: m[1], file: file.slice(root.length + 1) });
    }
  }
  for (const def of metrics.values()) {
    // recorded = one of prom-client's recording methods called on the variable somewhere
    const call = def.variable && new RegExp(`\\b${def.variable}\\s*\\.\\s*(inc|dec|set|observe|labels|startTimer|zero)\\s*\\(`);
    def.used = !call || [...sources.values()].some((src) => call.test(src));
  }
  return metrics;
}

/** Names of prom-client's default metrics (collectDefaultMetrics in libs/observability). */
export function defaultMetricNames(root) {
  const require = createRequire(join(root, 'libs/observability/package.json'));
  const { Registry, collectDefaultMetrics } = require('prom-client');
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return new Map(registry.getMetricsAsArray().map((m) => [m.name, { type: m.type === 'histogram' ? 'Histogram' : m.type }]));
}

/** Resolve a series name to its defined metric (stripping _bucket/_sum/_count from histograms). */
export function resolveMetric(name, defined) {
  if (defined.has(name)) return { base: name, def: defined.get(name) };
  for (const [type, suffixes] of Object.entries(SUFFIXES)) {
    for (const s of suffixes) {
      if (!name.endsWith(s)) continue;
      const def = defined.get(name.slice(0, -s.length));
      if (def?.type === type) return { base: name.slice(0, -s.length), def };
    }
  }
  return undefined;
}

/** Grafana's interval variables, replaced by a duration before parsing. */
const GRAFANA_RANGES = /\$(__rate_interval|__interval|__range)\b/g;

/**
 * Parse a PromQL expression with Prometheus' own grammar (@prometheus-io/lezer-promql): its
 * syntax errors, and its selectors (metric name and the label names matched in `{...}`).
 */
export function parsePromql(expr) {
  const text = expr.replace(GRAFANA_RANGES, '5m');
  const tree = promql.parse(text);
  const errors = [];
  const selectors = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError)
        errors.push(`syntax error at ${node.from}: ${JSON.stringify(text.slice(Math.max(0, node.from - 20), node.from + 10))}`);
      if (node.name !== 'VectorSelector') return;
      const id = node.node.getChild('Identifier');
      const labels = [];
      const matchers = node.node.getChild('LabelMatchers');
      if (matchers)
        for (let c = matchers.firstChild; c; c = c.nextSibling) {
          const l = c.getChild('LabelName');
          if (l) labels.push(text.slice(l.from, l.to));
        }
      if (id) selectors.push({ name: text.slice(id.from, id.to), labels });
    },
  });
  return { errors: [...new Set(errors)], selectors };
}

/**
 * Problems with the expressions `exprs` ([{where, expr}]): PromQL syntax errors, unknown metric
 * names, label names the metric does not have, metrics defined but never used by the code. `recorded` holds the names
 * of recording rules (usable as metrics; their labels are not checked).
 */
export function metricProblems(exprs, { code, defaults, recorded, builtins = ['up'] }) {
  const problems = [];
  for (const { where, expr } of exprs) {
    const { errors, selectors } = parsePromql(expr);
    problems.push(...errors.map((e) => `${where}: PromQL ${e}`));
    for (const { name, labels } of selectors) {
      if (recorded.has(name) || builtins.includes(name)) continue;
      const hit = resolveMetric(name, code) ?? resolveMetric(name, defaults);
      if (!hit) {
        problems.push(`${where}: ${name} is not a metric defined in libs/ or services/ (or a prom-client default)`);
        continue;
      }
      if (hit.def.used === false) problems.push(`${where}: ${hit.base} is defined (${hit.def.file}) but never recorded`);
      if (!hit.def.labels) continue;
      for (const l of labels) {
        if (!hit.def.labels.includes(l) && !TARGET_LABELS.includes(l)) problems.push(`${where}: ${hit.base} has no label ${l}`);
      }
    }
  }
  return problems;
}
