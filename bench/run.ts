/** `npm run bench`: prints every benchmark's figures. BENCH_SECONDS sets the length of each timed run (default 5). */
import { alertLatency } from './alerts.js';
import { bridgePublishReport } from './bridge-publish.js';
import { coalescingReport } from './coalescing.js';
import { e2eReport, e2eSteadyReport, peerReport } from './e2e/reports.js';
import { influxReport } from './influx.js';
import { pageReport } from './page.js';
import { ingestReport } from './ingest.js';
import { nodeRedReport } from './node-red.js';
import { rtuTimingReport } from './rtu-timing.js';
import { startupReport } from './startup.js';
import { endToEnd, pipelineToMqtt } from './throughput.js';

/** Every bench by name, in the order a full run prints them; `npm run bench -- ingest alerts` runs only those. */
const benches: Record<string, () => string | Promise<string>> = {
  coalescing: coalescingReport,
  pipeline: pipelineToMqtt,
  'end-to-end': endToEnd,
  'rtu-timing': rtuTimingReport,
  alerts: alertLatency,
  influx: influxReport,
  'bridge-publish': bridgePublishReport,
  ingest: ingestReport,
  startup: startupReport,
  e2e: e2eReport,
  'e2e-steady': e2eSteadyReport,
  peer: peerReport,
  'node-red': nodeRedReport,
  page: pageReport,
};
const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in benches));
if (unknown.length) {
  console.error(`unknown bench ${unknown.join(', ')} (have: ${Object.keys(benches).join(', ')})`);
  process.exit(2);
}
for (const [name, run] of Object.entries(benches)) {
  if (wanted.length === 0 || wanted.includes(name)) console.log(await run());
}
