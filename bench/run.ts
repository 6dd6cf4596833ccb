/** `npm run bench`: prints every benchmark's figures. BENCH_SECONDS sets the length of each timed run (default 5). */
import { alertLatency } from './alerts.js';
import { coalescingReport } from './coalescing.js';
import { influxReport } from './influx.js';
import { rtuTimingReport } from './rtu-timing.js';
import { endToEnd, pipelineToMqtt } from './throughput.js';

console.log(coalescingReport());
console.log(await pipelineToMqtt());
console.log(await endToEnd());
console.log(await rtuTimingReport());
console.log(await alertLatency());
console.log(await influxReport());
