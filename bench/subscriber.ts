import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Aedes } from 'aedes';

/**
 * An external MQTT subscriber for benchmarks: Mosquitto's own mosquitto_sub (C, fast), counting the messages it
 * reports, so the figure is what a real client on a socket receives, not what the gateway thinks it sent.
 * Its stdout stays block-buffered (line buffering would slow the reference client down), so readiness comes from the
 * broker's own `subscribe` event and the count is final once the process has exited and flushed.
 */
export class CountingSubscriber {
  private count = 0;
  private readonly child: ChildProcess;
  private readonly exited: Promise<unknown>;

  private constructor(port: number, topic: string) {
    this.child = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', topic, '-d', '-q', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.exited = once(this.child, 'close');
    let tail = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      const text = tail + chunk.toString('latin1');
      const lines = text.split('\n');
      tail = lines.pop() ?? '';
      // With -d every message is announced by a debug line before its payload: count those, not payload lines.
      for (const line of lines) if (line.startsWith('Client ') && line.includes('received PUBLISH')) this.count++;
    });
  }

  /** Starts mosquitto_sub and resolves once the broker has its subscription. */
  static async start(broker: Aedes, port: number, topic: string): Promise<CountingSubscriber> {
    const subscribed = once(broker, 'subscribe');
    const sub = new CountingSubscriber(port, topic);
    await Promise.race([subscribed, sub.exited.then(() => Promise.reject(new Error('mosquitto_sub exited before subscribing')))]);
    return sub;
  }

  /** Stops the subscriber and returns how many messages it received. */
  async stop(): Promise<number> {
    this.child.kill('SIGTERM');
    await this.exited;
    return this.count;
  }
}
