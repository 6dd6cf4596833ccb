/**
 * Answers worked out per topic (which subscriptions match, which QoS is granted), remembered until the facts they
 * depend on change and the owner clears them. Devices publish on the same few topics all day, so nearly every
 * message is answered by a map lookup. Bounded: past `limit` topics it starts over, so it never grows without end.
 */
export class TopicMemo<T> {
  private readonly answers = new Map<string, T>();

  constructor(
    private readonly answer: (topic: string) => T,
    private readonly limit = 20_000,
  ) {}

  get(topic: string): T {
    let found = this.answers.get(topic);
    if (found === undefined) {
      if (this.answers.size >= this.limit) this.answers.clear();
      found = this.answer(topic);
      this.answers.set(topic, found);
    }
    return found;
  }

  clear(): void {
    this.answers.clear();
  }
}
