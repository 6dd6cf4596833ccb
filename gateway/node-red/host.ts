import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { getPriority, setPriority } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Backoff } from '../util/backoff.js';
import { LogLimiter } from '../util/log-limiter.js';
import type { Logger, LogLevel } from '../util/log.js';
import type { NodeRedConfig } from './config.js';
import { keepLastGood, prepareFlows, type PreparedFlows } from './flows-file.js';
import { isChildMessage, type ChildMessage, type RunnerStart } from './messages.js';
import { nodePackageDirs, runnerEntry, SHIPPED_FLOWS_DIR } from './paths.js';
import { residentBytes } from './proc-rss.js';

const FLOW_FILE = 'flows.json';
/** A run that lasted this long was no failure: the backoff and the count towards safe mode start again. */
const STABLE_MS = 60_000;
/** SIGTERM lets Node-RED close its flows; past this it is killed. */
const STOP_GRACE_MS = 5_000;
const LOG_REPEAT_MS = 10_000;
/** Node-RED runs this much nicer than the gateway: an operator's busy flow gets a core only after readings and alerts. */
const NICER_THAN_GATEWAY = 10;
/**
 * ...and never ahead of the box's other services (sshd, InfluxDB: nice 0), though the gateway is deployed at -20: a
 * runaway flow must not take the box from the operator logging in to stop it.
 */
const OTHER_SERVICES_PRIORITY = 0;
const LOWEST_PRIORITY = 19;

/** The nice value Node-RED runs at beside a gateway running at `gatewayNice`. */
export function nodeRedNice(gatewayNice: number): number {
  return Math.min(LOWEST_PRIORITY, Math.max(OTHER_SERVICES_PRIORITY, gatewayNice + NICER_THAN_GATEWAY));
}

/** Why the child was restarted. */
export type RestartReason = 'crashed' | 'unresponsive' | 'memory' | 'failed_to_start';

export type NodeRedState = 'starting' | 'running' | 'restarting' | 'stopped';

export interface NodeRedHealth {
  readonly state: NodeRedState;
  readonly pid: number | undefined;
  /** Its admin API on 127.0.0.1 (reached through the gateway's /red/; it trusts only the gateway's tokens). */
  readonly port: number | undefined;
  /** Started with its flows stopped after repeated failed runs; a deploy starts them. */
  readonly safeMode: boolean;
  readonly restarts: number;
  readonly restartsBy: Readonly<Record<RestartReason, number>>;
  readonly lastRestart: { readonly reason: RestartReason; readonly detail: string; readonly at: string } | undefined;
  /** Since the child's event loop last reported in. */
  readonly heartbeatAgeMs: number | undefined;
  readonly rssBytes: number | undefined;
  /** Where the running flows came from, and why not from the flows file when they did not. */
  readonly flows: PreparedFlows | undefined;
  /** From this host's start to the first flows running (the gateway's start-up figure). */
  readonly firstFlowsMs: number | undefined;
}

/** What the gateway's nodes in the flows need to reach the embedded broker (nodered-nodes' agreed variable names). */
export interface GatewayNodeEnv {
  readonly GATEWAY_MQTT_URL: string;
  readonly GATEWAY_MQTT_USERNAME: string;
  readonly GATEWAY_MQTT_PASSWORD: string;
  readonly GATEWAY_TOPIC_ROOT: string;
}

export interface NodeRedHostOptions {
  readonly config: NodeRedConfig;
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  readonly nodeEnv: GatewayNodeEnv;
}

/** Where the editor's requests go while Node-RED runs, and the key to vouch for a user with. */
export interface EditorUpstream {
  readonly url: string;
  readonly tokenKey: Buffer;
}

interface Run {
  readonly child: ChildProcess;
  readonly tokenKey: Buffer;
  readonly startedAt: number;
  lastTick: number;
  port: number | undefined;
  rss: number | undefined;
  /** Set when the supervisor kills the child, so its exit is told by the real reason. */
  killedFor: { reason: RestartReason; detail: string } | undefined;
  readonly watchdog: NodeJS.Timeout;
  readonly exited: Promise<void>;
}

/**
 * Node-RED as a supervised child process: operators' flows can hang, crash or hoard memory there without touching the
 * data path. The child reports a tick every heartbeat interval over IPC; silence past the timeout (a busy loop), a
 * resident size past `max_rss` or an exit gets it restarted, after a capped exponential backoff. Repeated failed runs
 * start it in safe mode (flows stopped, editor up) so an operator can deploy a fix.
 */
export class NodeRedHost {
  private run: Run | undefined;
  private state: NodeRedState = 'stopped';
  private stopping = false;
  private retry: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;
  private failuresInARow = 0;
  private restarts = 0;
  private readonly restartsBy: Record<RestartReason, number> = { crashed: 0, unresponsive: 0, memory: 0, failed_to_start: 0 };
  private lastRestart: NodeRedHealth['lastRestart'];
  private flows: PreparedFlows | undefined;
  private hostStartedAt = 0;
  private firstFlowsMs: number | undefined;
  private readonly limiter: LogLimiter;
  private readonly userDir: string;

  constructor(
    private readonly opts: NodeRedHostOptions,
    private readonly log: Logger,
  ) {
    this.backoff = new Backoff({ initialMs: opts.config.restart.initial, maxMs: opts.config.restart.max });
    this.limiter = new LogLimiter(log, LOG_REPEAT_MS);
    this.userDir = join(opts.dataDir, 'node-red');
  }

  /** Launches the child and returns at once: Node-RED comes up beside the running data path, never before it. */
  start(): void {
    this.stopping = false;
    this.hostStartedAt = performance.now();
    this.launch();
  }

  /** The editor's upstream while Node-RED listens; undefined while it is down or (re)starting. */
  editor(): EditorUpstream | undefined {
    const run = this.run;
    return run?.port === undefined ? undefined : { url: `http://127.0.0.1:${run.port}`, tokenKey: run.tokenKey };
  }

  health(): NodeRedHealth {
    const run = this.run;
    return {
      state: this.state,
      pid: run?.child.pid,
      port: run?.port,
      safeMode: this.safeMode,
      restarts: this.restarts,
      restartsBy: { ...this.restartsBy },
      lastRestart: this.lastRestart,
      heartbeatAgeMs: run ? Math.round(performance.now() - run.lastTick) : undefined,
      rssBytes: run?.rss,
      flows: this.flows,
      firstFlowsMs: this.firstFlowsMs,
    };
  }

  /** SIGTERM, then SIGKILL after a grace period; resolves once the child is gone. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retry);
    const run = this.run;
    if (run) {
      run.child.kill('SIGTERM');
      const grace = setTimeout(() => run.child.kill('SIGKILL'), STOP_GRACE_MS);
      await run.exited;
      clearTimeout(grace);
    }
    this.state = 'stopped';
  }

  private get safeMode(): boolean {
    return this.failuresInARow >= this.opts.config.safe_mode_after;
  }

  private launch(): void {
    this.retry = undefined;
    if (this.stopping) return;
    this.state = this.restarts === 0 ? 'starting' : 'restarting';
    try {
      this.flows = prepareFlows(this.userDir, FLOW_FILE, SHIPPED_FLOWS_DIR);
    } catch (error) {
      this.failed('failed_to_start', `cannot prepare the flows in ${this.userDir}: ${(error as Error).message}`, performance.now());
      return;
    }
    if (this.flows.problem !== undefined) {
      this.log.error('flows file unusable; Node-RED runs the last good flows instead', { problem: this.flows.problem, using: this.flows.origin, set_aside: this.flows.setAside });
    } else if (this.flows.origin === 'shipped') {
      this.log.info('first start: shipped flows installed', { user_dir: this.userDir });
    }
    const { config } = this.opts;
    const entry = runnerEntry();
    const tokenKey = randomBytes(32);
    const child = fork(entry.file, [], {
      execArgv: [...entry.execArgv, `--max-old-space-size=${Math.floor(config.max_old_space / (1024 * 1024))}`],
      env: this.childEnv(),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const exited = new Promise<void>((resolve) => child.once('exit', (code, signal) => resolve(this.onExit(run, code, signal))));
    const now = performance.now();
    const run: Run = {
      child,
      tokenKey,
      startedAt: now,
      lastTick: now,
      port: undefined,
      rss: undefined,
      killedFor: undefined,
      watchdog: setInterval(() => void this.watch(run), config.heartbeat.interval),
      exited,
    };
    run.watchdog.unref();
    this.run = run;
    this.lowerPriority(child);
    // A fork that cannot even spawn reports it here, then its exit follows.
    child.on('error', (error) => this.limiter.error('child-error', 'Node-RED child process error', { pid: child.pid, error }));
    child.on('message', (message: unknown) => {
      if (isChildMessage(message)) this.onMessage(run, message);
    });
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      stream.on('error', () => undefined);
      createInterface({ input: stream }).on('line', (line) => this.limiter.warn(`output-${child.pid}`, 'Node-RED printed', { line: line.slice(0, 500) }));
    }
    const start: RunnerStart = {
      type: 'start',
      userDir: this.userDir,
      flowFile: FLOW_FILE,
      nodesDir: nodePackageDirs(),
      tokenKey: tokenKey.toString('base64'),
      credentialSecret: config.credential_secret,
      safeMode: this.safeMode,
      heartbeatMs: config.heartbeat.interval,
      logLevel: this.opts.logLevel,
    };
    child.send(start, (error) => {
      if (error) this.limiter.error('child-send', 'cannot hand Node-RED its settings', { pid: child.pid, error });
    });
    this.log.info('Node-RED starting', { pid: child.pid, safe_mode: this.safeMode || undefined, flows: this.flows.origin });
  }

  private lowerPriority(child: ChildProcess): void {
    if (child.pid === undefined) return; // it did not spawn: the error handler says why
    try {
      setPriority(child.pid, nodeRedNice(getPriority()));
    } catch (error) {
      this.limiter.warn('priority', "cannot lower Node-RED's CPU priority: its flows compete with readings and alerts for the CPU", { pid: child.pid, error });
    }
  }

  /** The gateway's environment without the credential secret, plus what the gateway nodes connect with. */
  private childEnv(): NodeJS.ProcessEnv {
    const secret = this.opts.config.credential_secret;
    const env = Object.fromEntries(Object.entries(process.env).filter(([, value]) => secret === undefined || value !== secret));
    return { ...env, ...this.opts.nodeEnv };
  }

  private onMessage(run: Run, message: ChildMessage): void {
    switch (message.type) {
      case 'tick':
        run.lastTick = performance.now();
        return;
      case 'log':
        this.childLog(message.level, message.msg, message.fields);
        return;
      case 'listening':
        run.port = message.port;
        run.lastTick = performance.now();
        this.state = 'running';
        this.log.info('Node-RED running', { pid: run.child.pid, port: message.port, safe_mode: this.safeMode || undefined });
        return;
      case 'flows-started':
        this.firstFlowsMs ??= Math.round(performance.now() - this.hostStartedAt);
        this.keepLastGood(message.rev);
        return;
      case 'failed':
        run.killedFor ??= { reason: run.port === undefined ? 'failed_to_start' : 'crashed', detail: message.error };
        return;
    }
  }

  private childLog(level: LogLevel, msg: string, fields: Readonly<Record<string, string>>): void {
    // A node that fails on every message must not flood the log: its repeats are counted, one line per interval.
    if (level === 'error' || level === 'warn') this.limiter[level](`${level}:${fields.node ?? ''}:${msg.slice(0, 80)}`, msg, fields);
    else this.log[level](msg, fields);
  }

  private keepLastGood(startedRev: string): void {
    try {
      const kept = keepLastGood(this.userDir, FLOW_FILE, startedRev);
      if (kept === 'no-flow-list') this.log.warn('flows started but the flows file is no flow list; the last good copy is kept as it was');
      else if (kept === 'changed') this.log.debug('flows started but a deploy has changed the flows file since; its own start keeps the last good copy');
    } catch (error) {
      this.limiter.error('last-good', 'cannot keep a copy of the flows that run', { user_dir: this.userDir, error });
    }
  }

  /** Every heartbeat interval: a silent event loop or an outgrown memory gets the child killed (and restarted). */
  private async watch(run: Run): Promise<void> {
    if (run !== this.run || run.killedFor) return;
    const { config } = this.opts;
    const now = performance.now();
    if (run.port === undefined) {
      if (now - run.startedAt > config.start_timeout) this.kill(run, 'failed_to_start', `not running after ${Math.round(now - run.startedAt)} ms`);
      return;
    }
    if (now - run.lastTick > config.heartbeat.timeout) {
      // The silence may be the gateway's own (its event loop held up past the timeout): timers run before I/O, so
      // heartbeats already waiting on the channel are read first, then the verdict is given.
      await new Promise((resolve) => setImmediate(resolve));
      const silentMs = performance.now() - run.lastTick;
      if (run === this.run && !run.killedFor && silentMs > config.heartbeat.timeout) return this.kill(run, 'unresponsive', `no heartbeat for ${Math.round(silentMs)} ms`);
      return;
    }
    const pid = run.child.pid;
    if (pid === undefined) return;
    run.rss = await residentBytes(pid);
    if (run.rss !== undefined && run.rss > config.max_rss && !run.killedFor) return this.kill(run, 'memory', `resident ${mb(run.rss)} MB over max_rss ${mb(config.max_rss)} MB`);
  }

  private kill(run: Run, reason: RestartReason, detail: string): void {
    run.killedFor = { reason, detail };
    run.child.kill('SIGKILL');
  }

  private onExit(run: Run, code: number | null, signal: NodeJS.Signals | null): void {
    clearInterval(run.watchdog);
    if (this.run === run) this.run = undefined;
    if (this.stopping) return;
    const why = run.killedFor ?? { reason: run.port === undefined ? 'failed_to_start' : 'crashed', detail: signal ? `killed by ${signal}` : `exited with code ${code}` };
    this.failed(why.reason, why.detail, run.startedAt);
  }

  private failed(reason: RestartReason, detail: string, startedAt: number): void {
    if (performance.now() - startedAt >= STABLE_MS) {
      this.failuresInARow = 0;
      this.backoff.reset();
    }
    this.failuresInARow++;
    this.restarts++;
    this.restartsBy[reason]++;
    this.lastRestart = { reason, detail, at: new Date().toISOString() };
    this.state = 'restarting';
    const delay = this.backoff.next();
    this.limiter.error(`restart:${reason}`, 'Node-RED stopped; restarting it', { reason, detail, restarts: this.restarts, retry_in_ms: delay, safe_mode_next: this.safeMode || undefined });
    this.retry = setTimeout(() => this.launch(), delay);
    this.retry.unref();
  }
}

function mb(bytes: number): number {
  return Math.round(bytes / (1024 * 1024));
}
