import { expect } from 'chai';
import { Command, COMMANDS, ConfigError, demoConfig, gatewayConfig, helpText, optionDocs, producerConfig, redisUrls, streamKeys } from '../../src/config';

describe('config', () => {
  it('uses defaults that work on a laptop', () => {
    const c = gatewayConfig([], {});
    expect(c).to.include({ port: 9001, host: '0.0.0.0', redis: 'redis://127.0.0.1:6379', maxSymbols: 1000 });
    expect(c.stream).to.deep.equal(['ticks']);
  });

  it('binds the demo to 127.0.0.1 unless --host (or TICKGATE_HOST) says otherwise', () => {
    expect(demoConfig([], {}).host).to.equal('127.0.0.1');
    expect(demoConfig(['--host', '0.0.0.0'], {}).host).to.equal('0.0.0.0');
    expect(demoConfig([], { TICKGATE_HOST: '::' }).host).to.equal('::');
  });

  it('takes a cluster\'s seed nodes, comma-separated, only with --redis-cluster (env TICKGATE_REDIS_CLUSTER=1)', () => {
    const seeds = 'redis://10.0.0.1:7000, redis://10.0.0.2:7000';
    expect(redisUrls(gatewayConfig(['--redis', seeds, '--redis-cluster'], {}))).to.deep.equal(['redis://10.0.0.1:7000', 'redis://10.0.0.2:7000']);
    expect(gatewayConfig(['--redis', seeds], { TICKGATE_REDIS_CLUSTER: '1' }).redisCluster).to.equal(true);
    expect(() => gatewayConfig(['--redis', seeds], {})).to.throw(ConfigError, /several URLs are seed nodes of a cluster; add --redis-cluster/);
    expect(() => producerConfig(['--redis', seeds], {})).to.throw(ConfigError, /add --redis-cluster/);
    expect(() => gatewayConfig(['--redis', 'redis://a:1,http://b:2', '--redis-cluster'], {})).to.throw(ConfigError, /must be a redis:\/\/ or rediss:\/\/ URL/);
  });

  it('reads and writes the shard keys of one base stream with --shards N, and refuses --shards with several streams', () => {
    expect(streamKeys(gatewayConfig([], {}))).to.deep.equal(['ticks']);
    expect(streamKeys(gatewayConfig(['--shards', '4', '--stream', 'md'], {}))).to.deep.equal(['md:0{3}', 'md:1{2}', 'md:2{1}', 'md:3{0}']);
    expect(streamKeys(producerConfig(['--shards', '4', '--stream', 'md'], {}))).to.deep.equal(streamKeys(gatewayConfig(['--shards', '4', '--stream', 'md'], {})));
    expect(() => gatewayConfig(['--shards', '2', '--stream', 'a,b'], {})).to.throw(ConfigError, /--stream must name one base stream, not 2/);
    expect(() => gatewayConfig(['--shards', '0'], {})).to.throw(ConfigError, /outside 1\.\.1024/);
  });

  it('derives the group and consumer from the instance id', () => {
    expect(gatewayConfig(['--instance', 'eu-1'], {})).to.include({ group: 'tickgate:eu-1', consumer: 'eu-1' });
    expect(gatewayConfig(['--instance', 'eu-1', '--group', 'g'], {})).to.include({ group: 'g', consumer: 'eu-1' });
  });

  it('reads TICKGATE_* variables, and flags win over them', () => {
    const env = { TICKGATE_PORT: '7000', TICKGATE_READ_COUNT: '64', TICKGATE_STREAM: 'a,b', TICKGATE_REDIS_URL: 'redis://r:1' };
    expect(gatewayConfig([], env)).to.include({ port: 7000, readCount: 64, redis: 'redis://r:1' });
    expect(gatewayConfig([], env).stream).to.deep.equal(['a', 'b']);
    expect(gatewayConfig(['--port=7001'], env).port).to.equal(7001);
  });

  it('rejects unknown flags, bad numbers, out-of-range values and bad URLs with a ConfigError naming the option', () => {
    const cases: [string[], RegExp][] = [
      [['--prot', '1'], /unknown option --prot/],
      [['--port', 'abc'], /--port \(port\): "abc" is not an integer/],
      [['--port', '70000'], /70000 is outside 0\.\.65535/],
      [['--redis', 'http://x'], /must be a redis:\/\/ or rediss:\/\/ URL/],
      [['--port'], /--port needs a value/],
      [['--max-backpressure', '262144'], /--max-backpressure \(262144\) must be above --conflate-above-bytes \(262144\)/],
    ];
    for (const [argv, message] of cases) {
      expect(() => gatewayConfig(argv, {})).to.throw(ConfigError, message);
    }
    expect(() => producerConfig([], { TICKGATE_RATE: '0' })).to.throw(ConfigError, /TICKGATE_RATE \(rate\): 0 is outside/);
  });

  it('batches acks over 50 ms or 1024 ids by default, and keeps the interval below the smallest --claim-idle-ms', () => {
    expect(gatewayConfig([], {})).to.include({ ackIntervalMs: 50, ackBatch: 1024 });
    expect(gatewayConfig([], { TICKGATE_ACK_INTERVAL_MS: '0', TICKGATE_ACK_BATCH: '1' })).to.include({ ackIntervalMs: 0, ackBatch: 1 });
    // An entry waiting for its ack must never look idle to XAUTOCLAIM, whose --claim-idle-ms is at least 1000.
    expect(() => gatewayConfig(['--ack-interval-ms', '501'], {})).to.throw(ConfigError, /--ack-interval-ms \(ackIntervalMs\): 501 is outside 0\.\.500/);
    expect(() => gatewayConfig(['--ack-batch', '0'], {})).to.throw(ConfigError, /--ack-batch \(ackBatch\): 0 is outside 1\.\.100000/);
  });

  it('drains for at most 5 s and gives the whole graceful stop 10 s by default; the deadline must stay above the drain', () => {
    expect(gatewayConfig([], {})).to.include({ drainTimeoutMs: 5000, shutdownTimeoutMs: 10_000 });
    expect(gatewayConfig(['--drain-timeout-ms', '0', '--shutdown-timeout-ms', '100'], {})).to.include({ drainTimeoutMs: 0, shutdownTimeoutMs: 100 });
    expect(gatewayConfig([], { TICKGATE_DRAIN_TIMEOUT_MS: '20000', TICKGATE_SHUTDOWN_TIMEOUT_MS: '30000' }))
      .to.include({ drainTimeoutMs: 20_000, shutdownTimeoutMs: 30_000 });
    expect(() => gatewayConfig(['--drain-timeout-ms', '10000'], {}))
      .to.throw(ConfigError, /^--shutdown-timeout-ms \(10000\) must be above --drain-timeout-ms \(10000\)/);
    expect(() => gatewayConfig(['--shutdown-timeout-ms', '800'], {}))
      .to.throw(ConfigError, /^--shutdown-timeout-ms \(800\) must be above --drain-timeout-ms \(5000\)/);
    expect(() => demoConfig(['--shutdown-timeout-ms', '800'], {})).to.throw(ConfigError, /must be above --drain-timeout-ms/);
    expect(() => gatewayConfig(['--drain-timeout-ms', '60001'], {})).to.throw(ConfigError, /--drain-timeout-ms \(drainTimeoutMs\): 60001 is outside 0\.\.60000/);
  });

  it('documents every option of every command in --help: flag, variable, meaning and default, one entry each', () => {
    for (const command of Object.keys(COMMANDS) as Command[]) {
      const help = helpText(command);
      const docs = optionDocs(command);
      for (const o of docs) {
        const entry = `\n  ${o.flag} (${o.env})\n      ${o.help}${o.default === '' ? '' : ` [default: ${o.default}]`}\n`;
        expect(help, `${command} ${o.flag}`).to.contain(entry);
      }
      expect(help.split('\n').filter((l) => /^ {2}--/.test(l)), `${command}: entries`).to.have.length(docs.length);
    }
    expect(optionDocs('gateway').find((o) => o.flag === '--read-block-ms')).to.deep.equal({
      flag: '--read-block-ms', env: 'TICKGATE_READ_BLOCK_MS', default: '1000',
      help: 'XREADGROUP BLOCK in ms; also bounds how long shutdown waits for the reader',
    });
    expect(optionDocs('gateway').find((o) => o.flag === '--redis')).to.include({ env: 'TICKGATE_REDIS_URL' });
  });
});
