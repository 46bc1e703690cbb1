/**
 * The rings (docs/architecture.md "Rings"): each folder may import only the rings inside it.
 * Relative imports are matched by the folder they name (core's folder names are unique), so a
 * file deep in `core/adapters/engines/postgres/` is held to the same rule as one at its top.
 */
const folder = (...names) => `(^|/)(${names.join('|')})/`;
// OpenTelemetry counts as one: the use cases trace through the RunTracer port, the SDK stays in core/adapters/telemetry/.
const CLOUD_SDKS = '^@(aws-sdk|smithy|google-cloud|azure|aws-lambda-powertools|opentelemetry)/|^(aws-cdk-lib|constructs|@middy/.*)$';
const ring = (files, forbidden, why, { sdks = true } = {}) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          { regex: folder(...forbidden), message: why },
          ...(sdks ? [{ regex: CLOUD_SDKS, message: 'cloud SDKs and frameworks are imported only by core/adapters/, functions/ and infra/' }] : []),
          { group: ['**/test/**'], message: 'nothing imports test/' },
        ],
      },
    ],
  },
});
const OUTER = ['runner', 'functions', 'infra', 'bench', 'scripts'];

export const rings = [
  ring(['core/domain/**', 'core/errors.ts', 'core/version.ts'], ['config', 'ports', 'pipeline', 'usecases', 'adapters', 'platform', ...OUTER], 'core/domain imports nothing above it (only domain and core/errors)'),
  ring(['core/config/**'], ['ports', 'pipeline', 'usecases', 'adapters', 'platform', ...OUTER], 'core/config reads files into domain types: it imports domain and errors only'),
  ring(['core/ports/**'], ['config', 'pipeline', 'usecases', 'adapters', 'platform', ...OUTER], 'core/ports are interfaces over domain types: they import domain and errors only'),
  ring(['core/pipeline/**'], ['config', 'usecases', 'adapters', 'platform', ...OUTER], 'core/pipeline holds stream stages: domain, ports and errors only'),
  ring(['core/usecases/**'], ['adapters', 'platform', ...OUTER], 'use cases receive their adapters through their dependencies; they never import core/adapters'),
  ring(['core/adapters/**'], ['usecases', 'platform', ...OUTER], 'adapters implement ports; they never import use cases or entry points', { sdks: false }),
  ring(['core/platform/**'], ['usecases', 'adapters', ...OUTER], 'core/platform describes deployments: domain, config and errors only'),
  ring(['runner/**'], ['functions', 'infra', 'bench'], 'the CLI never imports the functions, the infrastructure or the bench'),
  ring(['functions/**'], ['runner', 'infra', 'bench'], 'the functions never import the CLI, the infrastructure or the bench', { sdks: false }),
  ring(['infra/**'], ['usecases', 'runner', 'functions', 'bench'], 'the infrastructure names the functions by entry path, never by import', { sdks: false }),
];
