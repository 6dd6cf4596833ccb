/**
 * What a bench started, to be stopped and removed in reverse order: at the end, on failure, and on Ctrl-C or SIGTERM
 * (the children get the terminal's SIGINT too, but temp dirs, the gateway's data and InfluxDB's files would stay).
 */
export class Cleanup {
  /** Every cleanup not yet run, oldest first: a signal runs them all, newest first. */
  private static readonly live: Cleanup[] = [];
  private static signalsHandled = false;
  /** Set once a signal started the cleanup: what fails after that fails because its processes are being stopped. */
  static interrupted = false;
  private readonly steps: { what: string; run: () => Promise<void> | void }[] = [];

  constructor() {
    Cleanup.live.push(this);
    if (Cleanup.signalsHandled) return;
    Cleanup.signalsHandled = true;
    const onSignal = (signal: NodeJS.Signals): void => {
      Cleanup.interrupted = true;
      console.error(`\n${signal}: stopping what the bench started`);
      void (async () => {
        for (let cleanup = Cleanup.live.at(-1); cleanup; cleanup = Cleanup.live.at(-1)) await cleanup.run();
      })().finally(() => process.exit(130));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }

  /** Adds a step; returns the value it protects, for `const x = cleanup.add(await start(), 'x', (x) => x.stop())`. */
  add<T>(value: T, what: string, stop: (value: T) => Promise<void> | void): T {
    this.steps.push({ what, run: () => stop(value) });
    return value;
  }

  /** Runs every step once, newest first; a failing step is reported and the others still run. */
  async run(): Promise<void> {
    const index = Cleanup.live.indexOf(this);
    if (index >= 0) Cleanup.live.splice(index, 1);
    for (let step = this.steps.pop(); step; step = this.steps.pop()) {
      try {
        await step.run();
      } catch (error) {
        console.error(`bench cleanup: ${step.what}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}
