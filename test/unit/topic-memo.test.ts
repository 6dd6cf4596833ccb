import { describe, expect, it } from 'vitest';
import { TopicMemo } from '../../gateway/util/topic-memo.js';

describe('TopicMemo', () => {
  it('works an answer out once per topic, again after clear()', () => {
    const asked: string[] = [];
    const memo = new TopicMemo((topic) => (asked.push(topic), topic.length));
    expect([memo.get('a/b'), memo.get('a/b'), memo.get('c')]).toEqual([3, 3, 1]);
    memo.clear();
    expect(memo.get('a/b')).toBe(3);
    expect(asked).toEqual(['a/b', 'c', 'a/b']);
  });

  it('starts over past its limit instead of growing', () => {
    const asked: string[] = [];
    const memo = new TopicMemo((topic) => asked.push(topic), 2);
    for (const topic of ['a', 'b', 'c', 'a', 'c']) memo.get(topic);
    // 'c' cleared the full memo; 'a' was asked again, 'c' was still known.
    expect(asked).toEqual(['a', 'b', 'c', 'a']);
  });
});
