import { expect } from 'chai';
import {
  connectionsPerGateway, connectionsPerGenerator, HostLimits, ScaleOptionError, ScaleOptions, scaleOptions, shares,
} from '../../src/bench/scale-out/connections-options';
import { thrown } from '../helpers/thrown';

/** This VM: hard RLIMIT_NOFILE 20,000, ip_local_port_range 32768-60999. */
const HOST: HostLimits = { hardFiles: 20_000, ephemeralPorts: 28_232 };

describe('bench scale-out: sizing of the many-connections run (connections-options.ts)', () => {
  it('gives a gateway what its descriptor guard admits: hard limit − 2 × reserve (1,024 at 20,000) − 256 for the process itself', () => {
    expect(connectionsPerGateway(HOST)).to.equal(20_000 - 2 * 1024 - 256);
    expect(connectionsPerGateway({ ...HOST, hardFiles: 4096 })).to.equal(4096 - 2 * 256 - 256);
  });

  it('gives a generator the lesser of its descriptors and the ephemeral ports of its one source address', () => {
    expect(connectionsPerGenerator(HOST)).to.equal(20_000 - 256);
    expect(connectionsPerGenerator({ hardFiles: 1 << 20, ephemeralPorts: 28_232 })).to.equal(28_232);
  });

  it('by default runs 100,000 connections on this host as 6 gateways and 24 generators of about 4,167 each (source ports fill slowly past that)', () => {
    const o = scaleOptions([], HOST) as ScaleOptions;
    expect({ connections: o.connections, gateways: o.gateways, generators: o.generators }).to.deep.equal({ connections: 100_000, gateways: 6, generators: 24 });
    expect(shares(o.connections, o.generators)).to.deep.equal([...new Array(16).fill(4_167), ...new Array(8).fill(4_166)]);
  });

  it('refuses a layout whose gateways could not hold their share (with a 5% margin for the kernel\'s uneven spread), naming the count that fits', () => {
    const err = thrown(() => scaleOptions(['--gateways', '5'], HOST));
    expect(err).to.be.instanceOf(ScaleOptionError);
    expect((err as ScaleOptionError).message).to.match(/5 gateways would hold up to 21000 connections each, over the 17696 .* use --gateways 6 or more/);
    expect((scaleOptions(['--connections', '10000', '--gateways', '1'], HOST) as ScaleOptions).gateways).to.equal(1);
  });

  it('refuses generators that would need more descriptors or ports than one has, and more generators than 127.0.0.x addresses', () => {
    expect((thrown(() => scaleOptions(['--generators', '5'], HOST)) as Error).message).to.match(/5 generators would open 20000 connections each, over the 19744 .* use --generators 6 or more/);
    expect((thrown(() => scaleOptions(['--connections', '60000', '--generators', '2'], { hardFiles: 1 << 20, ephemeralPorts: 28_232 })) as Error).message)
      .to.match(/over the 28232 .* use --generators 3 or more/);
    expect((thrown(() => scaleOptions(['--connections', '1000', '--generators', '254'], HOST)) as Error).message).to.match(/at most 253/);
  });

  it('refuses a count that is not a positive integer', () => {
    for (const bad of ['0', '-5', '1.5', 'many']) {
      expect((thrown(() => scaleOptions([`--connections=${bad}`], HOST)) as Error).message).to.equal(`--connections: "${bad}" is not a positive integer`);
    }
  });

  it('splits the connections over the generators as evenly as possible, summing to the total', () => {
    expect(shares(10, 3)).to.deep.equal([4, 3, 3]);
    expect(shares(5000, 2)).to.deep.equal([2500, 2500]);
  });
});
