/**
 * The architecture as rules, checked by `npm test` (test/architecture/boundaries.test.ts) and
 * drawn in docs/ARCHITECTURE.md. Components live in src/sources, src/operators and src/sinks, one
 * file each, reached only through their role's registry list (index.ts); everything else is a
 * library or the engine.
 */
const COMPONENT = '^src/(sources|operators|sinks)/';
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'No import cycles.', from: { path: '^src/' }, to: { circular: true } },
    { name: 'nothing-imports-cli', severity: 'error', comment: 'cli/ holds commands; nothing imports them.', from: { path: '^src/', pathNot: '^src/cli/' }, to: { path: '^src/cli/' } },
    {
      name: 'core-is-the-floor',
      severity: 'error',
      comment: 'core/ (the contract, envelopes, errors, logging) imports nothing else of the project.',
      from: { path: '^src/core/' },
      to: { path: '^src/', pathNot: '^src/core/' },
    },
    {
      name: 'components-only-through-the-registry',
      severity: 'error',
      comment: 'A component file is imported only by its role’s registry list (index.ts); helpers belong in libraries.',
      from: { path: '^src/', pathNot: '^src/(sources|operators|sinks)/index\\.ts$' },
      to: { path: COMPONENT, pathNot: '^src/(sources|operators|sinks)/index\\.ts$' },
    },
    {
      name: 'registries-only-from-topology',
      severity: 'error',
      comment: 'The role registries are read by the topology registry; the runtime and libraries reach components through it.',
      from: { path: '^src/', pathNot: '^src/topology/registry\\.ts$' },
      to: { path: '^src/(sources|operators|sinks)/index\\.ts$' },
    },
    {
      name: 'drift-statistics-are-pure',
      severity: 'error',
      comment: 'drift/ is the statistics library (Evidently’s definitions, mergeable states): it imports only itself; drift-monitor/ puts it on streams.',
      from: { path: '^src/drift/' },
      to: { path: '^src/', pathNot: '^src/drift/' },
    },
    {
      name: 'libraries-stay-out-of-the-engine',
      severity: 'error',
      comment: 'Libraries (everything but cli, bench, reference, runtime, topology, http, observability and the components) import neither the runtime nor the topology loader.',
      from: { path: '^src/', pathNot: '^src/(cli|bench|datasets|reference|runtime|topology|http|observability|dashboard)/|' + COMPONENT },
      to: { path: '^src/(runtime|topology|http)/' },
    },
    {
      name: 'optional-packages-load-at-run-time',
      severity: 'error',
      comment: 'An optional dependency (node-rdkafka) may be missing after npm ci: src neither imports it nor its types; the adapter loads it with require when a topology asks for it.',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-optional'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
    exclude: { path: '^src/dashboard/' },
  },
};
