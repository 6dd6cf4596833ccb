import { spawn, type ChildProcess } from 'node:child_process';

/**
 * An external MQTT subscriber for benchmarks: Mosquitto's own mosquitto_sub (C, fast), counting the lines it prints,
 * so the figure is what a real client on a socket receives, not what the gateway thinks it sent.
 */
export class CountingSubscriber {
  count = 0;
  private readonly child: ChildProcess;
  private readonly ready: Promise<void>;

  constructor(port: number, topic: string) {
    this.child = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', topic, '-d', '-q', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let subscribed: () => void = () => undefined;
    this.ready = new Promise((resolve) => (subscribed = resolve));
    let tail = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      const text = tail + chunk.toString('latin1');
      const lines = text.split('\n');
      tail = lines.pop() ?? '';
      for (const line of lines) {
        // With -d every message is announced by a debug line before its payload: count those, not payload lines.
        if (!line.startsWith('Client ')) continue;
        if (line.includes('received PUBLISH')) this.count++;
        else if (line.includes('received SUBACK')) subscribed();
      }
    });
  }

  subscribed(): Promise<void> {
    return this.ready;
  }

  stop(): void {
    this.child.kill('SIGTERM');
  }
}
