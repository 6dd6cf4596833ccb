// Import walls run by `npm run lint:deps` and `npm test`. Type-only imports count: a type cycle still ties the
// modules together (one cannot be moved or loaded without the other), and the walls are about who knows whom.

/** Protocol and uplink clients: the core reaches none of them. */
const transportPackages = '^node_modules/(modbus-serial|serialport|@serialport|mqtt|aedes|ws|nodemailer|@influxdata)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles at all: move the shared piece (often a type) into a module of its own.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-imports-no-periphery',
      severity: 'error',
      comment: 'The core (model, pipeline) knows no driver, transport, broker, sink or alerting: they plug into it.',
      from: { path: '^gateway/(model[.]ts$|pipeline/)' },
      to: { path: ['^drivers/', '^gateway/(broker|ingest|influx|bridge|alerts)/'] },
    },
    {
      name: 'core-imports-no-transport-package',
      severity: 'error',
      comment: 'The core (model, pipeline) speaks no protocol: transports and uplinks live in drivers and sinks.',
      from: { path: '^gateway/(model[.]ts$|pipeline/)' },
      to: { path: transportPackages },
    },
    {
      name: 'driver-imports-no-broker-sink-or-alerting',
      severity: 'error',
      comment: 'A driver hands readings to the pipeline; the broker, sinks and alerting are none of its business.',
      from: { path: '^drivers/' },
      to: { path: ['^gateway/(broker|influx|bridge|alerts)/', '^gateway/pipeline/sink-queue[.]ts$'] },
    },
    {
      name: 'alerting-imports-no-uplink',
      severity: 'error',
      comment: 'Alerting works when the uplinks are down, so it must not depend on them (InfluxDB, bridge).',
      from: { path: '^gateway/alerts/' },
      to: { path: '^gateway/(influx|bridge)/' },
    },
    {
      name: 'driver-imports-config-ground-floor-only',
      severity: 'error',
      comment:
        'A driver may use the config ground floor (durations, sizes, names, serial settings, errors, the resolve ' +
        'context, YAML files); its own schema belongs in its folder, never in the root schema or loader.',
      from: { path: '^(drivers|tools)/' },
      to: { path: ['^gateway/config/', '^gateway/config-file/'], pathNot: '^gateway/config/(duration|size|names|serial|errors|context|yaml)[.]ts$' },
    },
    {
      name: 'ground-floor-imports-no-plugin',
      severity: 'error',
      comment: 'The config helpers are the ground floor every plugin stands on: they import no plugin and no part of the gateway.',
      from: { path: '^gateway/config/' },
      to: { path: ['^drivers/', '^tools/', '^gateway/(?!config/|util/|contract/names)'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Resolve packages through their "exports" (aedes has no "main"), as Node does.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
