import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ControlMessage, decodeControl, encodeAck, encodeHeartbeat, encodeError, encodeMode, encodeRefusal, encodeSnapshot,
} from '../../src/protocol/messages';
import { gapMessage } from '../../src/protocol/gap';
import { encodeRequest, parseRequest } from '../../src/protocol/requests';
import { decodeFrame } from '../../src/wire/frame';
import { repoRoot } from '../helpers/gateway';

/**
 * Every protocol example the README shows, wherever it shows it: ```json blocks and inline code that start like a
 * request (`{"op"`), a server message (`{"type"`) or a refusal body (`{"error"`). An example with a placeholder
 * (`…`, `...`, `<CODE>`) is a shape, not a message, and is left out.
 */
function readmeExamples(): string[] {
  const readme = readFileSync(join(repoRoot(), 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/^```json\n([\s\S]*?)^```$/gm)].map((m) => m[1].trim());
  const inline = [...readme.matchAll(/`(\{"[^`]*)`/g)].map((m) => m[1]);
  return [...blocks, ...inline].filter((t) => /^\{"(op|type|error)"/.test(t) && !/…|\.\.\.|</.test(t));
}

/** What the protocol's encoder writes for a decoded message: the README's text, when the example is right. */
function reencode(m: ControlMessage): string {
  switch (m.type) {
    case 'ack':
      return encodeAck(m);
    case 'error':
      return encodeError(m);
    case 'snapshot':
      return encodeSnapshot(m);
    case 'mode':
      return encodeMode(m);
    case 'gap':
      return gapMessage(m);
    case 'heartbeat':
      return encodeHeartbeat(m);
    case 'refusal':
      return encodeRefusal(m);
  }
}

const kind = (text: string) => (text.startsWith('{"op"') ? 'request' : text.startsWith('{"type":"ticks"') ? 'ticks' : 'control');

describe('README protocol examples', () => {
  const examples = readmeExamples();

  it('show a request, a data frame and every kind of control message', () => {
    const shown = new Set(examples.map((t) => (kind(t) === 'control' ? decodeControl(t).type : kind(t))));
    expect([...shown].sort()).to.deep.equal(['ack', 'error', 'gap', 'heartbeat', 'mode', 'refusal', 'request', 'snapshot', 'ticks']);
  });

  it('are requests the gateway parses and the SDK writes byte for byte', () => {
    for (const text of examples.filter((t) => kind(t) === 'request')) {
      expect(encodeRequest(parseRequest(text, 1000)), text).to.equal(JSON.stringify(JSON.parse(text)));
    }
  });

  it('are data frames the SDK decodes', () => {
    for (const text of examples.filter((t) => kind(t) === 'ticks')) expect(decodeFrame(text).ticks, text).to.not.have.lengthOf(0);
  });

  it('are control messages the SDK decodes and the gateway writes byte for byte', () => {
    for (const text of examples.filter((t) => kind(t) === 'control')) {
      expect(reencode(decodeControl(text)), text).to.equal(JSON.stringify(JSON.parse(text)));
    }
  });
});
