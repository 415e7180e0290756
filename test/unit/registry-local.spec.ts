import { expect } from 'chai';
import { LocalRegistry } from '../../src/registry/local-registry';

describe('registry: LocalRegistry', () => {
  it('counts subscribers per topic across sessions and forgets topics that reach zero', () => {
    const r = new LocalRegistry();
    r.openSession(1, 0, 100);
    r.openSession(2, 0, 200);
    r.addSubscription(1, 'json/A');
    r.addSubscription(2, 'json/A');
    r.addSubscription(2, 'bin/A');
    expect(r.subscriberCount('json/A')).to.equal(2);
    expect(r.session(2)).to.deep.equal({ workerId: 0, subscriptions: 2, connectedAt: 200 });
    expect(r.stats()).to.deep.equal({ sessions: 2, subscriptions: 3, activeTopics: 2 });
    r.removeSubscription(2, 'json/A');
    r.removeSubscription(2, 'bin/A');
    r.closeSession(2);
    expect(r.subscriberCount('bin/A')).to.equal(0);
    expect(r.session(2)).to.equal(undefined);
    expect(r.stats()).to.deep.equal({ sessions: 1, subscriptions: 1, activeTopics: 1 });
  });
});
