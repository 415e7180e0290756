/**
 * A reference model of the registry in plain Maps: the property test drives it and SharedRegistry with the same
 * calls and expects the same answers.
 */
import { ConnectionRegistry, RegistryStats, SessionInfo } from '../../src/registry/registry';

export class LocalRegistry implements ConnectionRegistry {
  private readonly sessions = new Map<number, SessionInfo>();
  private readonly topics = new Map<string, number>();
  private subscriptions = 0;

  openSession(sessionId: number, workerId: number, connectedAt: number): void {
    this.sessions.set(sessionId, { workerId, subscriptions: 0, connectedAt });
  }

  closeSession(sessionId: number): void {
    this.sessions.delete(sessionId);
  }

  addSubscription(sessionId: number, topic: string): void {
    const s = this.sessions.get(sessionId);
    if (s) s.subscriptions++;
    this.topics.set(topic, (this.topics.get(topic) ?? 0) + 1);
    this.subscriptions++;
  }

  removeSubscription(sessionId: number, topic: string): void {
    const s = this.sessions.get(sessionId);
    if (s) s.subscriptions--;
    const n = (this.topics.get(topic) ?? 0) - 1;
    // Deleting at zero keeps the map's size equal to the topics in use: symbols come and go all day.
    if (n <= 0) this.topics.delete(topic);
    else this.topics.set(topic, n);
    this.subscriptions--;
  }

  subscriberCount(topic: string): number {
    return this.topics.get(topic) ?? 0;
  }

  session(sessionId: number): SessionInfo | undefined {
    const s = this.sessions.get(sessionId);
    return s && { ...s };
  }

  stats(): RegistryStats {
    return { sessions: this.sessions.size, subscriptions: this.subscriptions, activeTopics: this.topics.size };
  }
}
