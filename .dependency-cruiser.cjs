/** Architecture boundaries from STYLE.md, checked by `pnpm lint`. */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'domain/ holds pure business rules: no Nest, ORM, NATS, pg or OpenTelemetry.',
      severity: 'error',
      from: { path: '^services/[^/]+/src/domain/' },
      to: { path: '(^|/)(@nestjs|@mikro-orm|@nats-io|@opentelemetry|fastify|pg|pg-[a-z]+)(/|$)' },
    },
    {
      name: 'domain-not-to-adapters',
      comment: 'domain/ does not reach out to application/ or adapters/.',
      severity: 'error',
      from: { path: '^services/[^/]+/src/domain/' },
      to: { path: '^services/[^/]+/src/(application|adapters)/' },
    },
    {
      name: 'domain-not-to-platform-libs',
      comment: 'domain/ may use kernel and contracts only (its unit specs also @meterflow/testing, for deciderSpec).',
      severity: 'error',
      from: { path: '^services/[^/]+/src/domain/' },
      to: { path: '^libs/(event-store|messaging|service-kit|observability)/' },
    },
    {
      name: 'domain-not-to-testing',
      comment: 'Only the unit specs of domain/ use @meterflow/testing (deciderSpec).',
      severity: 'error',
      from: { path: '^services/[^/]+/src/domain/', pathNot: '[.]unit[.]spec[.]ts$' },
      to: { path: '^libs/testing/' },
    },
    {
      name: 'application-not-to-adapters',
      comment:
        'application/ depends on domain/ and on the ports it declares (application/ports.ts); adapters implement them. ' +
        'Every service holds it (issue 7).',
      severity: 'error',
      from: { path: '^services/[^/]+/src/application/' },
      to: { path: '^services/[^/]+/src/adapters/' },
    },
    {
      name: 'application-no-database',
      comment:
        'application/ reaches Postgres only through its ports: pg, the ORM and SQL live in adapters/persistence ' +
        "(a port takes a unit's transaction as @meterflow/event-store's opaque Transaction). Issue 7.",
      severity: 'error',
      from: { path: '^services/[^/]+/src/application/' },
      to: { path: '(^|/)(pg|pg-[a-z]+|@mikro-orm/[a-z-]+)(/|$)' },
    },
    {
      name: 'no-service-to-service',
      comment: 'Services talk over NATS, never by importing each other.',
      severity: 'error',
      from: { path: '^services/([^/]+)/' },
      to: { path: '^services/', pathNot: '^services/$1/' },
    },
    {
      name: 'libs-not-to-services',
      severity: 'error',
      from: { path: '^libs/' },
      to: { path: '^services/' },
    },
    {
      name: 'tools-not-to-services',
      comment: 'The operator CLI runs service entry points as processes (dist/rebuild.js, dist/migrate.js); it never imports them.',
      severity: 'error',
      from: { path: '^tools/' },
      to: { path: '^services/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: { pathNot: 'node_modules' },
      to: { circular: true, pathNot: 'node_modules' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['source', 'import', 'default'], extensions: ['.ts', '.js'] },
  },
};
