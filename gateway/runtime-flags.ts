/**
 * The V8 heap settings the gateway runs with: `npm start`, the systemd unit, the Dockerfile and the benches start it
 * with these (test/unit/packaging.test.ts holds them to it). A young generation of 2 × 8 MB instead of V8's 2 × 16 MB,
 * and a full collection once the old generation has grown 30% past what was live after the last one, instead of
 * letting it grow up to 4× first: what the gateway's garbage occupies, not what it keeps, made its RSS. Measured at
 * 10,000 readings/s (`npm run bench -- e2e-steady`): RSS 139–161 MB without, 117–119 MB flat with; CPU per reading
 * within the noise; the most the box takes in a burst (`npm run bench -- e2e`) falls by about 15%.
 */
export const NODE_FLAGS = ['--max-semi-space-size=8', '--heap-growing-percent=30'] as const;

/**
 * The CPU priority the gateway is deployed with (the systemd unit's `Nice=`, and `CPUWeight=` ten times a default
 * service's where the cpu controller splits the box by service): on a box shared with InfluxDB and the uplinks, the
 * gateway is the one that must answer at once. Measured with InfluxDB, Mosquitto, the load and the subscribers on the
 * same 2 cores:
 * - at 5,000 readings/s, reading → alert inside the gateway p99 36–95 ms at nice 0 (the process waiting for a core),
 *   1.6–5 ms at -10;
 * - at 50,000 readings/s (`E2E_RATE=50000 E2E_READINGS=400000 npm run bench -- e2e`, 3 alternating rounds, the box
 *   90% busy), the main thread runnable but without a core 17–19% of the run at -10, 11–14% at -20; reading → alert
 *   p50 1.6–2.5 ms at -10, 1.3–2.1 ms at -20, and the p99s fell with it (most runs 10–17 ms against 16–34 ms).
 * The benches run the systems they compare at this priority when allowed to.
 *
 * What the event loop still waits at -20 is the scheduler's (`perf sched` and `perf record` beside a paced run at
 * 50,000/s): woken while a nice-0 task runs (mostly the local Mosquitto, whose acknowledgements wake it), it waits
 * until the next tick, up to 4 ms at HZ=250. The running task returns to user space throughout, so the kernel's
 * preemption model is not the cause: EEVDF declines to preempt at the wake-up and does so at the tick. Real-time
 * priority for the event loop's thread alone (SCHED_RR 1) took the wait to 0% and reading → alert p99 to 7–12 ms,
 * but the thread then woke 2–3× as often, for smaller turns, and used 35% more CPU; and a thread a flood keeps busy
 * is frozen 50 ms a second by the kernel's real-time throttling. So it is not deployed.
 */
export const SERVICE_NICE = -20;
