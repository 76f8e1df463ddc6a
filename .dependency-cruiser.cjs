// The layer rule of tandem, checked in CI (scripts/test.sh): imports point one way.
//
//   cli, lab                      the operator's tools (cli may start the daemon: `tandem run`)
//   central                       the fleet service: reads pairs through the box API client only
//   daemon, api                   wire the planes together and serve them
//   control | sync | dataplane    the three planes: never import each other
//   wire, config, metrics, net,   the ground floor: message and shared-memory formats, config,
//   clock, log                    what is counted, sockets and addresses; imports no plane
//   generated/ (outside src/)     protobuf code from proto/: only wire/ reads it
//
// docs/architecture.md explains where each decision is taken.
const GROUND = '^src/(wire|config|metrics|net)/|^src/(clock|log|log-limit)\\.ts$';
const PLANES = '^src/(control|sync|dataplane)/';
const HOUSE = '^src/(daemon|api)/';
const TOOLS = '^src/(cli|lab)/';
const CENTRAL = '^src/central/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'ground-floor-imports-no-plane',
      comment: 'wire, config, metrics, net, clock and log sit below the planes: they import none of them, nor what sits above',
      severity: 'error',
      from: { path: GROUND },
      to: { path: [PLANES, HOUSE, TOOLS, CENTRAL] },
    },
    {
      name: 'planes-do-not-import-each-other',
      comment: 'control, sync and dataplane meet only through the ground floor (wire formats, shared memory) and the daemon that wires them',
      severity: 'error',
      from: { path: '^src/(control|sync|dataplane)/' },
      to: { path: '^src/(control|sync|dataplane)/', pathNot: '^src/$1/' },
    },
    {
      name: 'planes-import-only-downward',
      comment: 'a plane never imports the daemon, the API or the tools',
      severity: 'error',
      from: { path: PLANES },
      to: { path: [HOUSE, TOOLS, CENTRAL] },
    },
    {
      name: 'house-does-not-import-tools',
      severity: 'error',
      from: { path: HOUSE },
      to: { path: [TOOLS, CENTRAL] },
    },
    {
      name: 'central-reads-pairs-through-the-api',
      comment:
        'central (the fleet service, its own process) knows a pair only through the box API client and its protocol; it never imports a plane, the daemon or the tools (the cli imports central: `tandem central`)',
      severity: 'error',
      from: { path: CENTRAL },
      to: { path: [PLANES, '^src/daemon/', TOOLS] },
    },
    {
      name: 'cli-talks-to-the-api',
      comment: 'the CLI reads the planes through the API client and its protocol types (it may start the daemon)',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: PLANES },
    },
    {
      name: 'lab-drives-processes',
      comment: 'the lab starts daemons as processes and talks to them through the API client',
      severity: 'error',
      from: { path: '^src/lab/' },
      to: { path: [PLANES, '^src/daemon/'] },
    },
    {
      name: 'generated-code-only-through-wire',
      comment: 'generated/ (protobuf code from proto/, written by scripts/gen-proto.mjs) is read only by wire/, whose codecs turn it into checked types',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/wire/' },
      to: { path: '^generated/' },
    },
    {
      name: 'no-orphans',
      comment: 'a module nothing imports and that imports nothing is dead code (entry points import something)',
      severity: 'error',
      from: { orphan: true, path: '^src/', pathNot: '\\.d\\.ts$' },
      to: {},
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: ['^src/', '^generated/'],
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'] },
  },
};
