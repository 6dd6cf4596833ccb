import { describe, expect, it } from 'vitest';
import { nodeRedNice } from '../../gateway/node-red/host.js';

describe("Node-RED's CPU priority beside the gateway's", () => {
  it('is 10 nicer than the gateway, so a busy flow gets a core after readings and alerts', () => {
    expect(nodeRedNice(0)).toBe(10);
    expect(nodeRedNice(5)).toBe(15);
  });

  it("is never ahead of the box's other services: the deployed gateway's -20 puts it at 0, not -10", () => {
    expect(nodeRedNice(-20)).toBe(0);
    expect(nodeRedNice(-5)).toBe(5);
  });

  it('stops at the lowest priority there is', () => {
    expect(nodeRedNice(15)).toBe(19);
  });
});
